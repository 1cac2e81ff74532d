//! Instrument definitions a practice imports (ones it holds licences for), in our JSON format
//! or as a FHIR R4/R4B Questionnaire, and the practice's registry: shipped plus imported.
//! Definitions are not client data; imports are audited as an admin action.

use crate::accounts::parse_id;
use crate::{Ctx, Store, StoreError, audit};
use concord_domain::ids::{PracticeId, UserId};
use concord_domain::measures::{Instrument, InstrumentId, Registry};
use concord_domain::policy::PracticeAdminAccess;
use sqlx::Row;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The largest definition file accepted.
const DEFINITION_MAX_BYTES: usize = 1 << 20;

/// The format a definition was imported from (it is stored normalised to our format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefinitionFormat {
    /// Our own JSON format (`"format": "concord.instrument/1"`).
    Concord,
    /// A FHIR R4/R4B Questionnaire.
    Fhir,
}

impl DefinitionFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionFormat::Concord => "concord",
            DefinitionFormat::Fhir => "fhir",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "concord" => Some(DefinitionFormat::Concord),
            "fhir" => Some(DefinitionFormat::Fhir),
            _ => None,
        }
    }
}

/// One imported definition, as listed for the practice admin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportedDefinition {
    pub instrument: InstrumentId,
    pub version: String,
    pub name: String,
    pub short_name: String,
    pub format: DefinitionFormat,
    pub imported_by: UserId,
    pub imported_at: i64,
}

/// A FHIR resource is a JSON object with a `resourceType`.
fn looks_like_fhir(json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(json).ok().is_some_and(|v| v.get("resourceType").is_some())
}

/// Imports a definition for the admin's practice: our JSON format, or a FHIR Questionnaire
/// (told apart by its `resourceType`; its id is made from the Questionnaire's name). Invalid
/// definitions are refused with the validator's message (Invalid); an id shipped with
/// Concord, or a version of an id already imported, is refused (Conflict). A new version of
/// an imported id supersedes the older one in [`practice_registry`].
pub async fn import_definition(
    store: &Store,
    ctx: &Ctx,
    access: &PracticeAdminAccess,
    json: &str,
) -> Result<ImportedDefinition, StoreError> {
    import(store, ctx, access, json, None).await
}

/// Imports a FHIR Questionnaire under the given instrument id.
pub async fn import_fhir_definition_as(
    store: &Store,
    ctx: &Ctx,
    access: &PracticeAdminAccess,
    json: &str,
    id: &str,
) -> Result<ImportedDefinition, StoreError> {
    import(store, ctx, access, json, Some(id)).await
}

async fn import(
    store: &Store,
    ctx: &Ctx,
    access: &PracticeAdminAccess,
    json: &str,
    fhir_id: Option<&str>,
) -> Result<ImportedDefinition, StoreError> {
    if json.len() > DEFINITION_MAX_BYTES {
        return Err(StoreError::Invalid(format!("the definition is larger than {} KiB", DEFINITION_MAX_BYTES / 1024)));
    }
    let (instrument, format) = match fhir_id {
        Some(id) => (Instrument::from_fhir_questionnaire_as(json, id), DefinitionFormat::Fhir),
        None if looks_like_fhir(json) => (Instrument::from_fhir_questionnaire(json), DefinitionFormat::Fhir),
        None => (Instrument::from_json(json), DefinitionFormat::Concord),
    };
    let instrument = instrument.map_err(|e| StoreError::Invalid(e.to_string()))?;
    let shipped = Registry::shipped().map_err(|e| StoreError::Config(format!("shipped instruments: {e}")))?;
    if let Some(s) = shipped.get(instrument.id().as_str()) {
        return Err(StoreError::Conflict(format!(
            "an instrument with id {} is shipped with Concord ({} version {}); give the imported one another id",
            instrument.id(),
            s.short_name(),
            s.version()
        )));
    }
    let normalised = instrument.to_json().map_err(|e| StoreError::Invalid(e.to_string()))?;
    let practice = access.practice_id().to_string();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO instrument_definitions (practice_id, instrument_id, version, definition_json, source_format, imported_by, imported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&practice)
    .bind(instrument.id().as_str())
    .bind(instrument.version())
    .bind(&normalised)
    .bind(format.as_str())
    .bind(access.actor().user_id.to_string())
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::unique_or(e, &format!("version {} of instrument {}", instrument.version(), instrument.id())))?;
    let mut ev = ctx.event(Some(&access.actor()), &practice, "instrument.import", "instrument_definition");
    ev.record_id = Some(instrument.id().to_string());
    ev.detail = format!("version={} format={}", instrument.version(), format.as_str());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    // The importing request still holds the version from before: it must see its own import.
    ctx.changed_definitions();
    Ok(ImportedDefinition {
        instrument: instrument.id().clone(),
        version: instrument.version().to_owned(),
        name: instrument.name().to_owned(),
        short_name: instrument.short_name().to_owned(),
        format,
        imported_by: access.actor().user_id,
        imported_at: ctx.ts(),
    })
}

/// The latest imported version of each id, by id (rows are read in import order, so a later
/// import replaces an earlier one in the map).
async fn latest_imports(store: &Store, practice_id: PracticeId) -> Result<Vec<(sqlx::any::AnyRow, Instrument)>, StoreError> {
    let rows = sqlx::query(
        "SELECT instrument_id, version, definition_json, source_format, imported_by, imported_at FROM instrument_definitions \
         WHERE practice_id = $1 ORDER BY imported_at, version",
    )
    .bind(practice_id.to_string())
    .fetch_all(store.reads())
    .await?;
    let mut latest: BTreeMap<String, (sqlx::any::AnyRow, Instrument)> = BTreeMap::new();
    for r in rows {
        let id: String = r.try_get("instrument_id")?;
        match Instrument::from_json(&r.try_get::<String, _>("definition_json")?) {
            Ok(instrument) => {
                latest.insert(id, (r, instrument));
            }
            // Validated at import; a later, stricter validator may refuse it. Leave it out
            // (its responses keep their stored scores) rather than fail the whole registry.
            Err(e) => tracing::warn!(instrument = %id, problems = e.problems().len(), "stored instrument definition no longer validates"),
        }
    }
    Ok(latest.into_values().collect())
}

/// Each practice's registry as last read, with the definitions version it was read at. The
/// version is read before the definitions (with the request's session), so an entry is never
/// older than its version says; an import in between only costs a read on the next request.
#[derive(Default)]
pub struct Registries(std::sync::Mutex<std::collections::HashMap<PracticeId, (i64, Arc<Registry>)>>);

impl Registries {
    fn entries(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<PracticeId, (i64, Arc<Registry>)>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The practice's instruments: everything shipped, plus the latest imported version of each
/// imported id. An imported id that a later release also ships is left out (with a warning
/// in the log): the shipped definition wins. From memory when the request read the practice's
/// definitions version with its session or token and nothing was imported since; else read.
pub async fn practice_registry(store: &Store, ctx: &Ctx, practice_id: PracticeId) -> Result<Arc<Registry>, StoreError> {
    let Some(version) = ctx.definitions_version(practice_id) else { return read_registry(store, practice_id).await };
    if let Some((v, registry)) = store.registries().entries().get(&practice_id)
        && *v == version
    {
        return Ok(Arc::clone(registry));
    }
    let registry = read_registry(store, practice_id).await?;
    // A request that read its version before an import must not replace the newer entry.
    let mut entries = store.registries().entries();
    if entries.get(&practice_id).is_none_or(|(v, _)| *v < version) {
        entries.insert(practice_id, (version, Arc::clone(&registry)));
    }
    Ok(registry)
}

async fn read_registry(store: &Store, practice_id: PracticeId) -> Result<Arc<Registry>, StoreError> {
    let shipped = shipped()?;
    let imports = latest_imports(store, practice_id).await?;
    if imports.is_empty() {
        return Ok(shipped);
    }
    let mut registry = Registry::clone(&shipped);
    for (_, instrument) in imports {
        let id = instrument.id().clone();
        if registry.insert(instrument).is_err() {
            tracing::warn!(instrument = %id, "imported instrument id is now shipped; using the shipped definition");
        }
    }
    Ok(Arc::new(registry))
}

/// One of the practice's instruments by id (as [`practice_registry`] has it). A shipped id is
/// answered without reading the imports, since the shipped definition wins: a submission of a
/// shipped questionnaire costs no read of the definitions.
pub async fn practice_instrument(store: &Store, ctx: &Ctx, practice_id: PracticeId, id: &str) -> Result<Option<Instrument>, StoreError> {
    if let Some(def) = shipped()?.get(id) {
        return Ok(Some(def.clone()));
    }
    Ok(practice_registry(store, ctx, practice_id).await?.get(id).cloned())
}

/// The shipped definitions, parsed and validated once per process and shared as they are by
/// every practice that has imported none (most requests), not copied per request.
fn shipped() -> Result<Arc<Registry>, StoreError> {
    static SHIPPED: std::sync::OnceLock<Result<Arc<Registry>, String>> = std::sync::OnceLock::new();
    SHIPPED
        .get_or_init(|| Registry::shipped().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| StoreError::Config(format!("shipped instruments: {e}")))
}

/// The practice's imported definitions (latest version of each id), by id.
pub async fn list_imported_definitions(store: &Store, practice_id: PracticeId) -> Result<Vec<ImportedDefinition>, StoreError> {
    latest_imports(store, practice_id)
        .await?
        .iter()
        .map(|(r, instrument)| {
            Ok(ImportedDefinition {
                instrument: instrument.id().clone(),
                version: instrument.version().to_owned(),
                name: instrument.name().to_owned(),
                short_name: instrument.short_name().to_owned(),
                format: DefinitionFormat::parse(&r.try_get::<String, _>("source_format")?)
                    .ok_or_else(|| StoreError::Invalid("corrupt definition format".into()))?,
                imported_by: parse_id(r, "imported_by")?,
                imported_at: r.try_get("imported_at")?,
            })
        })
        .collect()
}
