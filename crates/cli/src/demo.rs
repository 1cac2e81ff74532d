//! The demo practice for `concord serve --demo`: three clinicians and an admin, a dozen
//! fictional clients with a year of sessions. Deterministic, so every demo looks the same.

use crate::CliError;
use crate::setup::hash_password;
use concord_domain::clock::{Clock, SystemClock};
use concord_domain::ids::ClientId;
use concord_domain::policy::{self, Actor};
use concord_domain::values::{
    Attendance, BreakGlassReason, ClientName, DateOfBirth, DurationMinutes, Email, NewPassword, PersonName, PracticeName, Role,
};
use concord_store::accounts::{self, NewUser, User};
use concord_store::clients::{self, ClientChanges, ClientStatus, NewSession};
use concord_store::crypto::PracticeKey;
use concord_store::{Ctx, Store, db};
use std::path::Path;
use time::{Duration, OffsetDateTime, Time};

pub const DEFAULT_DEMO_PASSWORD: &str = "concord-demo-password";
pub const DEMO_RECOVERY_CODES: [&str; 3] = ["demo1-admin", "demo2-admin", "demo3-admin"];

/// A tiny deterministic generator (xorshift), so the demo data is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct DemoClient {
    name: &'static str,
    born: &'static str,
    /// Weeks since intake.
    weeks: i64,
    /// Days between sessions.
    every_days: i64,
    /// Chance in 100 that a session is missed (half cancelled, half no-show).
    missed_pct: u64,
    /// Index of the clinician who holds the case (0 Sam, 1 Priya), and a second member.
    team: (usize, Option<usize>),
    /// Therapy finished: archived, no upcoming session.
    finished: bool,
}

const CLIENTS: &[DemoClient] = &[
    DemoClient { name: "Maya Thompson", born: "1991-04-12", weeks: 52, every_days: 7, missed_pct: 8, team: (0, None), finished: false },
    DemoClient { name: "Daniel Okafor", born: "1984-09-30", weeks: 14, every_days: 7, missed_pct: 5, team: (0, None), finished: false },
    DemoClient { name: "Sofia Marquez", born: "1998-01-22", weeks: 30, every_days: 7, missed_pct: 25, team: (0, Some(2)), finished: false },
    DemoClient { name: "Liam O'Connor", born: "1976-06-03", weeks: 40, every_days: 14, missed_pct: 10, team: (0, None), finished: true },
    DemoClient { name: "Aisha Rahman", born: "2001-11-17", weeks: 10, every_days: 7, missed_pct: 0, team: (0, None), finished: false },
    DemoClient { name: "Noah Fischer", born: "1969-02-08", weeks: 26, every_days: 14, missed_pct: 15, team: (0, None), finished: false },
    DemoClient {
        name: "Hannah Kowalski",
        born: "1988-07-25",
        weeks: 20,
        every_days: 7,
        missed_pct: 12,
        team: (1, Some(0)),
        finished: false,
    },
    DemoClient { name: "Kenji Watanabe", born: "1993-03-14", weeks: 48, every_days: 7, missed_pct: 6, team: (1, None), finished: false },
    DemoClient { name: "Grace Mensah", born: "1980-12-01", weeks: 8, every_days: 7, missed_pct: 20, team: (1, Some(2)), finished: false },
    DemoClient { name: "Oliver Brennan", born: "1995-05-19", weeks: 36, every_days: 7, missed_pct: 10, team: (1, None), finished: true },
    DemoClient { name: "Leila Haddad", born: "1987-08-09", weeks: 16, every_days: 7, missed_pct: 4, team: (1, None), finished: false },
    DemoClient { name: "Tomás Silva", born: "1972-10-28", weeks: 44, every_days: 14, missed_pct: 9, team: (1, None), finished: false },
];

fn parse<T>(r: Result<T, concord_domain::values::ValueError>) -> Result<T, CliError> {
    r.map_err(|e| CliError::failed(format!("demo data: {e}")))
}

/// Creates the demo data dir, key, database and practice; returns the store, the text listing
/// the logins, and a client portal secret for one demo client.
pub async fn create(dir: &Path) -> Result<(Store, String, Option<String>), CliError> {
    let key = PracticeKey::create_file(dir).map_err(|e| CliError::failed(e.to_string()))?;
    let store = Store::open(&db::database_url(dir, None), key).await?;
    let now = SystemClock.now();
    let ctx = Ctx::new("demo-seed", now);
    let password_text = std::env::var("CONCORD_DEMO_PASSWORD").unwrap_or_else(|_| DEFAULT_DEMO_PASSWORD.to_owned());
    let password = NewPassword::parse(&password_text).map_err(|e| CliError::usage(format!("CONCORD_DEMO_PASSWORD: {e}")))?;
    let hash = hash_password(&password).await?;

    let practice_id = accounts::create_practice(&store, &ctx, &parse(PracticeName::parse("Riverside Counselling (demo)"))?).await?;
    let staff = [
        ("Dr. Sam Rivera", "sam.rivera@demo.concord.test", Role::Clinician),
        ("Dr. Priya Nair", "priya.nair@demo.concord.test", Role::Clinician),
        ("Morgan Lee", "morgan.lee@demo.concord.test", Role::Supervisor),
        ("Ada Okonkwo", "ada.admin@demo.concord.test", Role::Admin),
    ];
    let mut users: Vec<User> = Vec::new();
    for (name, email, role) in staff {
        let email = parse(Email::parse(email))?;
        let new = NewUser { practice_id, email: &email, name: &parse(PersonName::parse(name))?, role, password_hash: hash.clone() };
        let id = accounts::create_user(&store, &ctx, None, new).await?;
        users.push(accounts::get_user(&store, id).await?.ok_or_else(|| CliError::failed("demo user vanished"))?);
    }
    // The admin's second factor is on, with known recovery codes, so the demo needs no phone.
    if let Some(admin) = users.get(3) {
        accounts::set_pending_totp(&store, &ctx, admin, b"demo-totp-secret-not-for-real-use").await?;
        let hashes: Vec<String> = DEMO_RECOVERY_CODES.iter().map(|c| accounts::secret_hash(&c.replace('-', ""))).collect();
        accounts::enable_totp(&store, &ctx, admin, &hashes).await?;
    }
    let actor_of = |i: usize| users.get(i).map(User::actor).ok_or_else(|| CliError::failed("demo staff missing"));

    let mut rng = Rng(0x5eed_c0c0_a11c_e5e5);
    let mut first_client: Option<ClientId> = None;
    let mut made: Vec<(ClientId, Actor, &'static str, bool)> = Vec::new();
    let mut finished = Vec::new();
    for c in CLIENTS {
        let lead: Actor = actor_of(c.team.0)?;
        let intake = now - Duration::weeks(c.weeks);
        let create_ctx = Ctx::new("demo-seed", intake);
        let access = policy::decide_create_client(&lead).ok_or_else(|| CliError::failed("demo: cannot create"))?;
        let dob = parse(DateOfBirth::parse(c.born, now.date()))?;
        let id = clients::create_client(&store, &create_ctx, &access, &parse(ClientName::parse(c.name))?, Some(&dob)).await?;
        first_client.get_or_insert(id);
        made.push((id, lead, c.name, c.finished));
        let rec = clients::record_access(&store, &ctx, &lead, id).await?;
        let sessions = schedule(c, intake, now, &mut rng);
        clients::add_sessions(&store, &ctx, &rec, &sessions).await?;
        if let Some(second) = c.team.1 {
            let admin = actor_of(3)?;
            let team = clients::care_team_access(&store, &ctx, &admin, id).await?;
            clients::add_to_care_team(&store, &ctx, &team, actor_of(second)?.user_id).await?;
        }
        if c.finished {
            finished.push(rec);
        }
    }
    let portal_secret = crate::demo_measures::seed(&store, &ctx, now, &made).await?;
    crate::demo_records::seed(&store, &ctx, now, &made).await?;
    crate::demo_decisions::seed(&store, &ctx, &made).await?;
    // Finished clients are archived once their history is in.
    for rec in &finished {
        clients::update_client(&store, &ctx, rec, ClientChanges { status: Some(ClientStatus::Archived), ..Default::default() }).await?;
    }
    // Coded transcripts: MI feedback on recent sessions of two clients, the text kept for the
    // latest and discarded for the oldest, as a therapist might.
    let transcripts: [(&str, &[&str]); 2] = [
        (
            "Maya Thompson",
            &[
                include_str!("demo_transcripts/maya_1.txt"),
                include_str!("demo_transcripts/maya_2.txt"),
                include_str!("demo_transcripts/maya_3.txt"),
            ],
        ),
        ("Sofia Marquez", &[include_str!("demo_transcripts/sofia_1.txt")]),
    ];
    for (name, texts) in transcripts {
        let Some(index) = CLIENTS.iter().position(|c| c.name == name) else { continue };
        let Some(c) = CLIENTS.get(index) else { continue };
        let lead = actor_of(c.team.0)?;
        let scope = policy::caseload_scope(&lead);
        let list = clients::list_clients(&store, &ctx, &scope, Some(name), true).await?;
        let Some(client) = list.first() else { continue };
        let rec = clients::record_access(&store, &ctx, &lead, client.id).await?;
        let mut attended: Vec<_> = clients::list_sessions(&store, &ctx, &rec)
            .await?
            .into_iter()
            .filter(|s| s.attendance == Attendance::Attended && s.starts_at <= now.unix_timestamp())
            .collect();
        attended.truncate(texts.len());
        attended.reverse();
        for (i, (session, text)) in attended.iter().zip(texts.iter()).enumerate() {
            let upload = concord_web::pages::transcripts::Upload {
                bytes: text.as_bytes().to_vec(),
                format: concord_mi::parse::Format::Text,
                file_name: None,
            };
            let (coded, version, format) = concord_web::pages::transcripts::code_upload(upload)
                .await
                .map_err(|e| CliError::failed(format!("demo transcript: {e}")))?;
            let (codes_json, lines) = concord_web::pages::transcripts::split_texts(&coded).map_err(|e| CliError::failed(e.to_string()))?;
            let new = concord_store::transcripts::NewTranscript {
                session_id: session.id,
                source_format: format,
                model_version: version,
                utterance_count: i64::try_from(lines.len()).unwrap_or(0),
                codes_json,
                texts: &lines,
            };
            concord_store::transcripts::save_transcript(&store, &ctx, &rec, new).await?;
            if i == 0 && texts.len() > 1 {
                concord_store::transcripts::discard_text(&store, &ctx, &rec, session.id).await?;
            }
        }
    }
    // One past emergency access, for the admin's review page.
    if let Some(id) = first_client {
        let when = Ctx::new("demo-seed", now - Duration::days(30));
        let reason = parse(BreakGlassReason::parse("Covering Sam's crisis call while Sam was on leave; needed the contact history."))?;
        clients::grant_break_glass(&store, &when, &actor_of(1)?, id, &reason, Duration::hours(1)).await?;
    }
    let mut text =
        format!("Demo practice \"Riverside Counselling (demo)\" with fictional clients. Password for every login: {password_text}\n");
    for (u, (_, _, role)) in users.iter().zip(staff) {
        text.push_str(&format!("  {:<34} {}\n", u.email, role));
    }
    text.push_str(&format!("  The admin's second factor: enter a recovery code ({}), each works once.\n", DEMO_RECOVERY_CODES.join(", ")));
    text.push_str("This demo's data is deleted when the server stops.");
    Ok((store, text, portal_secret))
}

/// A year-like history of sessions: regular cadence, some missed, the next one booked.
fn schedule(c: &DemoClient, intake: OffsetDateTime, now: OffsetDateTime, rng: &mut Rng) -> Vec<NewSession> {
    let hour = 9 + u8::try_from(rng.below(8)).unwrap_or(0);
    let Ok(slot) = Time::from_hms(hour, 0, 0) else { return Vec::new() };
    let Ok(duration) = DurationMinutes::new(50) else { return Vec::new() };
    let mut out = Vec::new();
    let mut at = intake.replace_time(slot) + Duration::days(2);
    let end = if c.finished { now - Duration::weeks(6) } else { now + Duration::days(c.every_days) };
    while at < end {
        let roll = rng.below(100);
        let attendance = if at > now {
            Attendance::Scheduled
        } else if roll < c.missed_pct / 2 {
            Attendance::Cancelled
        } else if roll < c.missed_pct {
            Attendance::NoShow
        } else {
            Attendance::Attended
        };
        out.push(NewSession { starts_at: at, duration, attendance });
        at += Duration::days(c.every_days);
    }
    out
}
