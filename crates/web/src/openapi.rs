//! The OpenAPI 3.1 document for `/api/v1`, generated from the route table so it cannot drift
//! from what is served. Schemas are written here by hand; they mirror the serde types in
//! `api.rs` (a test checks every API route appears, and schemathesis can run against it).
//! We chose this over utoipa derives to keep one table as the source of truth for routing,
//! authorization tests and documentation.

use crate::routes::{Audience, ROUTES};
use axum::Json;
use serde_json::{Map, Value, json};

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn request_schema(method: &str, path: &str) -> Option<&'static str> {
    match (method, path) {
        ("POST", "/api/v1/clients") => Some("NewClient"),
        ("PATCH", "/api/v1/clients/{id}") => Some("ClientChanges"),
        ("POST", "/api/v1/clients/{id}/sessions") => Some("NewSession"),
        ("POST", "/api/v1/clients/{id}/care-team") => Some("NewCareTeamMember"),
        ("POST", "/api/v1/clients/{id}/responses") => Some("NewResponse"),
        ("POST", "/api/v1/clients/{id}/portal-link") => Some("NewPortalLink"),
        ("POST", "/api/v1/instruments") => Some("InstrumentImport"),
        _ => None,
    }
}

fn success(method: &str, path: &str) -> (&'static str, Value) {
    let array = |name: &str| json!({"type": "array", "items": schema_ref(name)});
    match (method, path) {
        ("GET", "/api/v1/me") => ("200", schema_ref("Me")),
        ("GET", "/api/v1/clients") => ("200", array("ClientSummary")),
        ("POST", "/api/v1/clients") | ("POST", "/api/v1/clients/{id}/sessions") => ("201", schema_ref("Created")),
        ("GET", "/api/v1/clients/{id}") | ("PATCH", "/api/v1/clients/{id}") => ("200", schema_ref("Client")),
        ("GET", "/api/v1/clients/{id}/sessions") => ("200", array("Session")),
        ("GET", "/api/v1/clients/{id}/care-team") => ("200", array("CareTeamMember")),
        ("POST", "/api/v1/clients/{id}/care-team") => ("201", array("CareTeamMember")),
        ("POST", "/api/v1/clients/{id}/responses") => ("201", schema_ref("ScoredResponse")),
        ("GET", "/api/v1/clients/{id}/responses") => ("200", array("Response")),
        ("GET", "/api/v1/clients/{id}/outcomes") => ("200", schema_ref("Outcomes")),
        ("POST", "/api/v1/clients/{id}/portal-link") => ("201", schema_ref("PortalLink")),
        ("GET", "/api/v1/instruments") => ("200", array("InstrumentSummary")),
        ("GET", "/api/v1/instruments/{instrument}") => {
            ("200", json!({"type": "object", "description": "The definition in Concord's instrument format"}))
        }
        ("POST", "/api/v1/instruments") => ("201", schema_ref("Created")),
        ("DELETE", _) => ("204", Value::Null),
        _ => ("200", json!({})),
    }
}

pub fn build() -> Value {
    let mut paths = Map::new();
    for r in ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        let mut params = Vec::new();
        for seg in r.path.split('/') {
            // `{id}` or `{id}.pdf`: the name between the braces.
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.split_once('}')).map(|(name, _)| name) {
                params.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
            }
        }
        if r.path == "/api/v1/clients" && r.method == "GET" {
            params.push(json!({"name": "q", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Name search: every word must match the start of a word of the name"}));
            params.push(json!({"name": "include_archived", "in": "query", "required": false, "schema": {"type": "boolean"}}));
        }
        let (code, schema) = success(r.method, r.path);
        let ok = if schema.is_null() {
            json!({"description": "Success"})
        } else {
            json!({"description": "Success", "content": {"application/json": {"schema": schema}}})
        };
        let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": schema_ref("Error")}}});
        let mut responses = Map::new();
        responses.insert(code.to_owned(), ok);
        responses.insert("400".into(), err("Malformed request"));
        responses.insert("401".into(), err("Missing, unknown or revoked token"));
        responses.insert("404".into(), err("Not found, or not yours to see (the same answer)"));
        responses.insert("422".into(), err("Invalid values"));
        let mut op = Map::new();
        op.insert("summary".into(), json!(r.summary));
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}_{}",
                r.method.to_lowercase(),
                r.path.trim_start_matches("/api/v1/").replace(['/', '-', '.'], "_").replace(['{', '}'], "")
            )),
        );
        op.insert("parameters".into(), Value::Array(params));
        op.insert("responses".into(), Value::Object(responses));
        if matches!(r.audience, Audience::ApiAdminClient | Audience::ApiAdmin) {
            op.insert("description".into(), json!("Practice administrators only."));
        }
        if let Some(name) = request_schema(r.method, r.path) {
            op.insert("requestBody".into(), json!({"required": true, "content": {"application/json": {"schema": schema_ref(name)}}}));
        }
        if let Value::Object(methods) = paths.entry(r.path.to_owned()).or_insert_with(|| json!({})) {
            methods.insert(r.method.to_lowercase(), Value::Object(op));
        }
    }
    let ts = json!({"type": "string", "format": "date-time"});
    let status = json!({"type": "string", "enum": ["active", "archived"]});
    let attendance = json!({"type": "string", "enum": ["scheduled", "attended", "cancelled", "no_show"]});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Concord API", "version": env!("CARGO_PKG_VERSION"), "description": "Personal-token API for scripts. Every call is audited."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A personal token from `concord token create` or the account page"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Created": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}},
                "Me": {"type": "object", "required": ["id", "name", "email", "role", "practice_id"], "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"},
                    "role": {"type": "string", "enum": ["clinician", "supervisor", "admin"]}, "practice_id": {"type": "string"}}},
                "NewClient": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "date_of_birth": {"type": ["string", "null"], "format": "date"}}},
                "ClientChanges": {"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "date_of_birth": {"type": ["string", "null"], "format": "date"},
                    "status": status}},
                "ClientSummary": {"type": "object", "required": ["id", "name", "status", "attended_sessions"], "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}, "status": status, "attended_sessions": {"type": "integer"},
                    "last_session_at": {"type": ["string", "null"], "format": "date-time"}, "next_session_at": {"type": ["string", "null"], "format": "date-time"}}},
                "Client": {"type": "object", "required": ["id", "name", "status", "created_at", "updated_at", "care_team"], "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}, "date_of_birth": {"type": ["string", "null"], "format": "date"},
                    "status": status, "created_at": ts, "updated_at": ts, "care_team": {"type": "array", "items": schema_ref("CareTeamMember")}}},
                "NewSession": {"type": "object", "required": ["starts_at", "duration_minutes", "attendance"], "additionalProperties": false, "properties": {
                    "starts_at": ts, "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 600}, "attendance": attendance}},
                "Session": {"type": "object", "required": ["id", "starts_at", "duration_minutes", "attendance"], "properties": {
                    "id": {"type": "string"}, "starts_at": ts, "duration_minutes": {"type": "integer"}, "attendance": attendance}},
                "CareTeamMember": {"type": "object", "required": ["user_id", "name", "role"], "properties": {
                    "user_id": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"}}},
                "NewResponse": {"type": "object", "required": ["instrument", "answers", "completed_at"], "additionalProperties": false, "properties": {
                    "instrument": {"type": "string", "examples": ["phq9"]},
                    "answers": {"type": "array", "items": {"oneOf": [{"type": "integer"}, {"type": "null"}, {"const": "na"}]}, "description": "One per numeric item in order; null for missing, \"na\" for not applicable"},
                    "completed_at": ts, "note": {"type": "string"}, "source": {"type": "string", "enum": ["api", "clinician", "paper"]},
                    "idempotency_key": {"type": "string"}}},
                "ScoredResponse": {"type": "object", "required": ["id", "total", "band", "flags"], "properties": {
                    "id": {"type": "string"}, "total": {"type": ["integer", "null"]}, "band": {"type": ["string", "null"]},
                    "flags": {"type": "array", "items": {"type": "string"}}, "caseness": {"type": ["boolean", "null"]}, "score": {"type": "object"}}},
                "Response": {"type": "object", "required": ["id", "instrument", "completed_at", "answers"], "properties": {
                    "id": {"type": "string"}, "instrument": {"type": "string"}, "instrument_version": {"type": "string"},
                    "total": {"type": ["integer", "null"]}, "band": {"type": ["string", "null"]}, "caseness": {"type": ["boolean", "null"]},
                    "flags": {"type": "array", "items": {"type": "string"}}, "completed_at": ts, "source": {"type": "string"},
                    "answers": {"type": "array"}, "note": {"type": "string"}, "score": {"type": "object"}}},
                "Outcomes": {"type": "object", "required": ["measures"], "properties": {"measures": {"type": "array", "items": {"type": "object"}}, "episode": {"type": ["object", "null"]}}},
                "NewPortalLink": {"type": "object", "additionalProperties": false, "properties": {"expires_in_days": {"type": "integer", "minimum": 1, "maximum": 180}, "pin": {"type": "string", "pattern": "^[0-9]{4,12}$"}}},
                "PortalLink": {"type": "object", "required": ["id", "url", "expires_at"], "properties": {"id": {"type": "string"}, "url": {"type": "string"}, "expires_at": ts, "pin_required": {"type": "boolean"}}},
                "InstrumentSummary": {"type": "object", "required": ["id", "name", "version", "origin"], "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}, "short_name": {"type": "string"}, "version": {"type": "string"},
                    "origin": {"type": "string", "enum": ["published", "practice_own"]}, "items": {"type": "integer"}, "licence": {"type": "object"}}},
                "InstrumentImport": {"type": "object", "required": ["format", "definition"], "additionalProperties": false, "properties": {
                    "format": {"type": "string", "enum": ["concord", "fhir"]}, "definition": {"type": "object"}, "id": {"type": "string"}}},
                "NewCareTeamMember": {"type": "object", "required": ["user_id"], "additionalProperties": false, "properties": {"user_id": {"type": "string", "format": "uuid"}}}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(build).clone())
}
