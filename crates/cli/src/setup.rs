//! Set-up and administration commands that run without the server.

use crate::{CliError, DataArgs};
use concord_domain::clock::{Clock, SystemClock};
use concord_domain::values::{Email, NewPassword, PersonName, PracticeName, Role};
use concord_store::accounts::{self, NewUser};
use concord_store::crypto::PracticeKey;
use concord_store::{Ctx, Store, audit, db, passwords};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn ctx(command: &str) -> Ctx {
    Ctx::new(format!("cli:{command}"), SystemClock.now())
}

/// Opens the store for a data dir that `concord init` prepared.
pub async fn open(data: &DataArgs) -> Result<Store, CliError> {
    let key = PracticeKey::load(&data.data_dir).map_err(|e| CliError::usage(e.to_string()))?;
    let url = db::database_url(&data.data_dir, data.database_url.as_deref());
    db::engine_of(&url).map_err(|e| CliError::usage(e.to_string()))?;
    if data.database_url.is_none() && !data.data_dir.join(db::SQLITE_FILE_NAME).exists() {
        return Err(CliError::usage(format!("no database in {} (run `concord init` first)", data.data_dir.display())));
    }
    Ok(Store::open(&url, key).await?)
}

/// Reads a password from a file (first line), for scripts.
pub fn read_password_file(path: &Path) -> Result<NewPassword, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::usage(format!("cannot read password file {}: {e}", path.display())))?;
    Ok(NewPassword::parse(text.lines().next().unwrap_or(""))?)
}

fn prompt(label: &str) -> Result<String, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!("missing {label} (give the flag, or run in a terminal to be asked)")));
    }
    eprint!("{label}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| CliError::usage(e.to_string()))?;
    Ok(line.trim().to_owned())
}

fn prompt_password() -> Result<NewPassword, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage("missing --admin-password-file (or run in a terminal to be asked)"));
    }
    let first = rpassword::prompt_password("Password (at least 12 characters): ").map_err(|e| CliError::usage(e.to_string()))?;
    let again = rpassword::prompt_password("Password again: ").map_err(|e| CliError::usage(e.to_string()))?;
    if first != again {
        return Err(CliError::usage("the passwords differ"));
    }
    Ok(NewPassword::parse(&first)?)
}

#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The practice's name.
    #[arg(long)]
    practice: Option<String>,
    /// The first administrator's email.
    #[arg(long)]
    admin_email: Option<String>,
    /// The first administrator's name.
    #[arg(long)]
    admin_name: Option<String>,
    /// A file whose first line is the administrator's password.
    #[arg(long)]
    admin_password_file: Option<PathBuf>,
}

pub async fn hash_password(p: &NewPassword) -> Result<String, CliError> {
    let pw = p.expose().to_owned();
    tokio::task::spawn_blocking(move || passwords::hash(&pw)).await.map_err(|e| CliError::failed(e.to_string()))?.map_err(CliError::from)
}

/// Creates the data dir, key file, database, practice and first admin.
pub async fn init(args: InitArgs) -> Result<ExitCode, CliError> {
    let practice = PracticeName::parse(&match args.practice {
        Some(p) => p,
        None => prompt("Practice name")?,
    })?;
    let email = Email::parse(&match args.admin_email {
        Some(e) => e,
        None => prompt("Administrator email")?,
    })?;
    let name = PersonName::parse(&match args.admin_name {
        Some(n) => n,
        None => email.as_str().split('@').next().unwrap_or("Administrator").to_owned(),
    })?;
    let password = match &args.admin_password_file {
        Some(f) => read_password_file(f)?,
        None => prompt_password()?,
    };
    std::fs::create_dir_all(&args.data.data_dir)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", args.data.data_dir.display())))?;
    let key_path = args.data.data_dir.join(concord_store::crypto::KEY_FILE_NAME);
    let key = if std::env::var(concord_store::crypto::KEY_ENV).is_ok() || key_path.exists() {
        PracticeKey::load(&args.data.data_dir).map_err(|e| CliError::usage(e.to_string()))?
    } else {
        PracticeKey::create_file(&args.data.data_dir).map_err(|e| CliError::failed(e.to_string()))?
    };
    let url = db::database_url(&args.data.data_dir, args.data.database_url.as_deref());
    db::engine_of(&url).map_err(|e| CliError::usage(e.to_string()))?;
    let store = Store::open(&url, key).await?;
    let ctx = ctx("init");
    if accounts::find_user_by_email(&store, email.as_str()).await?.is_some() {
        return Err(CliError::usage(format!("an account for {} already exists", email.as_str())));
    }
    let practice_id = accounts::create_practice(&store, &ctx, &practice).await?;
    let hash = hash_password(&password).await?;
    accounts::create_user(&store, &ctx, None, NewUser { practice_id, email: &email, name: &name, role: Role::Admin, password_hash: hash })
        .await?;
    eprintln!("Created practice \"{}\" with administrator {}.", practice.as_str(), email.as_str());
    eprintln!("Practice key: {} (keep a copy somewhere safe: without it the client data cannot be read).", key_path.display());
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a staff account to the (only) practice in the data dir, or to --practice-id.
    Add {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// clinician, supervisor or admin
        #[arg(long)]
        role: String,
        /// A file whose first line is the password.
        #[arg(long)]
        password_file: PathBuf,
        /// The practice, when the database holds several.
        #[arg(long)]
        practice_id: Option<String>,
    },
}

async fn the_practice(store: &Store, explicit: Option<&str>) -> Result<concord_domain::ids::PracticeId, CliError> {
    let practices = accounts::list_practices(store).await?;
    match explicit {
        Some(id) => {
            practices.iter().find(|p| p.id.to_string() == id).map(|p| p.id).ok_or_else(|| CliError::usage(format!("no practice {id}")))
        }
        None => match practices.as_slice() {
            [one] => Ok(one.id),
            [] => Err(CliError::usage("no practice yet (run `concord init` first)")),
            _ => Err(CliError::usage("several practices: choose one with --practice-id")),
        },
    }
}

pub async fn user(cmd: UserCommand) -> Result<ExitCode, CliError> {
    match cmd {
        UserCommand::Add { data, email, name, role, password_file, practice_id } => {
            let email = Email::parse(&email)?;
            let name = PersonName::parse(&name)?;
            let role: Role = role.parse()?;
            let password = read_password_file(&password_file)?;
            let store = open(&data).await?;
            let practice_id = the_practice(&store, practice_id.as_deref()).await?;
            let hash = hash_password(&password).await?;
            let id = accounts::create_user(
                &store,
                &ctx("user-add"),
                None,
                NewUser { practice_id, email: &email, name: &name, role, password_hash: hash },
            )
            .await?;
            println!("{id}");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a personal API token; prints the token alone on standard output.
    Create {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long, default_value = "created with concord token create")]
        label: String,
    },
    /// List a user's tokens (ids and labels, never the secrets).
    List {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        id: String,
    },
}

async fn user_by_email(store: &Store, email: &str) -> Result<accounts::User, CliError> {
    let email = Email::parse(email)?;
    accounts::find_user_by_email(store, email.as_str()).await?.ok_or_else(|| CliError::usage(format!("no account for {}", email.as_str())))
}

pub async fn token(cmd: TokenCommand) -> Result<ExitCode, CliError> {
    match cmd {
        TokenCommand::Create { data, email, label } => {
            let store = open(&data).await?;
            let user = user_by_email(&store, &email).await?;
            let (_, secret) = accounts::create_token(&store, &ctx("token-create"), &user, &label).await?;
            println!("{secret}");
            store.close().await;
        }
        TokenCommand::List { data, email } => {
            let store = open(&data).await?;
            let user = user_by_email(&store, &email).await?;
            for t in accounts::list_tokens(&store, user.id).await? {
                println!("{}\t{}\t{}", t.id, if t.revoked_at.is_some() { "revoked" } else { "active" }, t.label);
            }
            store.close().await;
        }
        TokenCommand::Revoke { data, email, id } => {
            let store = open(&data).await?;
            let user = user_by_email(&store, &email).await?;
            let id = id.parse().map_err(|_| CliError::usage("--id is not a token id"))?;
            accounts::revoke_token(&store, &ctx("token-revoke"), &user, id).await.map_err(|e| match e {
                concord_store::StoreError::NotFound => CliError::usage("no such active token for this user"),
                other => other.into(),
            })?;
            eprintln!("revoked");
            store.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify every audit hash chain: exit 0 when intact, 1 naming the first broken entry.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn audit(cmd: AuditCommand) -> Result<ExitCode, CliError> {
    match cmd {
        AuditCommand::Verify { data, json } => {
            let store = open(&data).await?;
            let report = audit::verify(store.pool()).await?;
            store.close().await;
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            }
            match &report.first_break {
                None => {
                    if !json {
                        println!("audit chain intact: {} chains, {} entries", report.chains, report.entries);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    eprintln!("{b}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

#[derive(clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The backup file to create (SQLite). It holds client data only as ciphertext; keep the
    /// practice key separately, or the backup cannot be read.
    #[arg(long)]
    out: PathBuf,
}

/// `concord backup`: a consistent copy of the SQLite database, taken while Concord runs.
pub async fn backup(args: BackupArgs) -> Result<ExitCode, CliError> {
    if args.data.database_url.is_some() {
        return Err(CliError::usage("for PostgreSQL use pg_dump (client data in it is ciphertext, as here)"));
    }
    let store = open(&args.data).await?;
    let result = db::sqlite_backup(store.pool(), &args.out).await;
    store.close().await;
    result?;
    eprintln!("backup written to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The data dir to restore into; it must hold the practice key and no database.
    #[arg(long, env = "CONCORD_DATA_DIR", default_value = "concord-data")]
    data_dir: PathBuf,
    /// A file made by `concord backup`.
    #[arg(long)]
    from: PathBuf,
}

/// `concord restore`: puts a backup in place after checking that the key opens it and that
/// its audit chain is intact. Refuses to overwrite a database.
pub async fn restore(args: RestoreArgs) -> Result<ExitCode, CliError> {
    let target = args.data_dir.join(db::SQLITE_FILE_NAME);
    if target.exists() {
        return Err(CliError::usage(format!("{} already exists; restore into an empty data dir", target.display())));
    }
    if !args.from.is_file() {
        return Err(CliError::usage(format!("{} is not a file", args.from.display())));
    }
    let key = PracticeKey::load(&args.data_dir).map_err(|e| CliError::usage(e.to_string()))?;
    // Check a scratch copy first, so a bad backup never lands in the data dir.
    let scratch = tempfile::tempdir().map_err(|e| CliError::failed(e.to_string()))?;
    let copy = scratch.path().join(db::SQLITE_FILE_NAME);
    std::fs::copy(&args.from, &copy).map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.from.display())))?;
    let store = Store::open(&db::database_url(scratch.path(), None), key)
        .await
        .map_err(|e| CliError::usage(format!("not a usable backup: {e}")))?;
    let report = audit::verify(store.pool()).await?;
    store.close().await;
    if let Some(b) = report.first_break {
        return Err(CliError::usage(format!("the backup's audit chain is broken: {b}")));
    }
    std::fs::copy(&copy, &target).map_err(|e| CliError::failed(format!("cannot write {}: {e}", target.display())))?;
    eprintln!("restored {} entries of audit history into {}", report.entries, target.display());
    Ok(ExitCode::SUCCESS)
}
