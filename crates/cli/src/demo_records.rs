//! Demo prompts and documentation: the rules run over the demo year, and a few clients carry
//! what a therapist would have written: notes with medication conversations (a referral
//! offered, one declined in the client's words), addenda, a process note, safety plans, and
//! prompts answered, deferred or still open.

use crate::CliError;
use concord_domain::ids::{ClientId, PromptId};
use concord_domain::policy::{Actor, RecordAccess};
use concord_domain::prompts::{Action, PromptKind, Response, SafetyAction};
use concord_domain::records::{MedicationConversation, NoteKind, RaisedBy, SafetyPlan};
use concord_domain::values::Attendance;
use concord_store::notes::{self, NewNote};
use concord_store::prompts::{self, Resolution, StatusFilter};
use concord_store::{Ctx, Store, clients, safety_plans};
use time::{Duration, OffsetDateTime};

fn at(now: OffsetDateTime, days_ago: i64) -> Ctx {
    Ctx::new("demo-seed", now - Duration::days(days_ago))
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The id of the attended session nearest to `days_ago` days before `now`.
async fn session_near(
    store: &Store,
    ctx: &Ctx,
    rec: &RecordAccess,
    now: OffsetDateTime,
    days_ago: i64,
) -> Result<Option<concord_domain::ids::SessionId>, CliError> {
    let target = (now - Duration::days(days_ago)).unix_timestamp();
    let sessions = clients::list_sessions(store, ctx, rec).await?;
    Ok(sessions
        .iter()
        .filter(|s| s.attendance == Attendance::Attended && s.starts_at <= now.unix_timestamp())
        .min_by_key(|s| (s.starts_at - target).abs())
        .map(|s| s.id))
}

async fn open_prompt(store: &Store, ctx: &Ctx, rec: &RecordAccess, kind: PromptKind) -> Result<Option<PromptId>, CliError> {
    let open = prompts::list_prompts(store, ctx, rec, StatusFilter::Open).await?;
    Ok(open.into_iter().find(|p| p.kind == kind).map(|p| p.id))
}

async fn resolve(
    store: &Store,
    ctx: &Ctx,
    rec: &RecordAccess,
    kind: PromptKind,
    response: Response,
    safety: Option<&str>,
    note: Option<&str>,
) -> Result<(), CliError> {
    // Every open prompt of the kind (one per measure, say), with the same documented response.
    let open = prompts::list_prompts(store, ctx, rec, StatusFilter::Open).await?;
    for p in open.into_iter().filter(|p| p.kind == kind) {
        let action = Action { response: response.clone(), safety_action: safety.map(|s| SafetyAction { what_was_done: s.to_owned() }) };
        prompts::resolve_prompt(store, ctx, rec, p.id, Resolution { action, note: note.map(str::to_owned) })
            .await
            .map_err(|e| CliError::failed(format!("demo prompt: {e}")))?;
    }
    Ok(())
}

fn draft(session: Option<concord_domain::ids::SessionId>, kind: NoteKind, body: &str, med: Option<MedicationConversation>) -> NewNote {
    NewNote { session_id: session, kind, body: body.to_owned(), medication_conversation: med }
}

async fn note(store: &Store, ctx: &Ctx, rec: &RecordAccess, new: NewNote, sign: bool) -> Result<concord_domain::ids::NoteId, CliError> {
    let id = notes::create_note(store, ctx, rec, new).await?;
    if sign {
        notes::sign_note(store, ctx, rec, id).await?;
    }
    Ok(id)
}

pub async fn seed(store: &Store, ctx: &Ctx, now: OffsetDateTime, made: &[(ClientId, Actor, &'static str, bool)]) -> Result<(), CliError> {
    // The rules over the whole demo year, as the evaluator would have run them.
    loop {
        let r = prompts::evaluate_pending(store, ctx, 100).await?;
        if r.clients == 0 {
            break;
        }
    }
    prompts::sweep(store, ctx).await?;
    let date = |days: i64| (now + Duration::days(days)).date();

    for (id, lead, name, finished) in made {
        if *finished {
            continue;
        }
        let rec = clients::record_access(store, ctx, lead, *id).await?;
        match *name {
            "Maya Thompson" => {
                let then = at(now, 21);
                let s = session_near(store, &then, &rec, now, 21).await?;
                let med = MedicationConversation {
                    raised_by: Some(RaisedBy::Client),
                    hopes: Some("To sleep through the night and have the energy to see friends again.".into()),
                    concerns: Some("Worried about weight gain and about feeling 'flat'. Her sister had a bad experience.".into()),
                    information_given: Some("Talked through typical time to effect (several weeks), common side effects, and that a prescriber would discuss options with her. No recommendation made.".into()),
                    referral_offered: true,
                    referred_to: Some("Dr. Helen Park (GP)".into()),
                    client_response: Some("\"I want to give the sleep plan a proper go first, then decide.\"".into()),
                    plan: Some("Four-week trial of a sleep routine and activity scheduling; review PHQ-9 and check-ins together at the end.".into()),
                    follow_up_date: Some(date(7)),
                };
                let n = note(
                    store,
                    &then,
                    &rec,
                    draft(
                        s,
                        NoteKind::Progress,
                        "Reviewed the week with Maya. Mood still low most days; sleep broken. She raised whether medication might help.",
                        Some(med),
                    ),
                    true,
                )
                .await?;
                notes::add_addendum(
                    store,
                    &at(now, 14),
                    &rec,
                    n,
                    "Correction: Dr. Park's practice is the Riverside Health Centre, not the Bridge Street surgery.",
                )
                .await?;
                note(
                    store,
                    &at(now, 21),
                    &rec,
                    draft(
                        s,
                        NoteKind::Process,
                        "Noticed my own pull to reassure her about medication; stayed with her ambivalence instead. Take to supervision.",
                        None,
                    ),
                    false,
                )
                .await?;
                let latest = session_near(store, ctx, &rec, now, 0).await?;
                note(
                    store,
                    ctx,
                    &rec,
                    draft(
                        latest,
                        NoteKind::Progress,
                        "Week 3 of the sleep plan: bedtime routine kept 5 of 7 nights. Still waking early.",
                        None,
                    ),
                    false,
                )
                .await?;
                safety_plans::save_plan(
                    store,
                    &at(now, 120),
                    &rec,
                    &SafetyPlan {
                        warning_signs: lines(&["Staying in bed past noon", "Cancelling plans with friends"]),
                        internal_coping: lines(&["A walk by the river", "Music from the 'steady' playlist"]),
                        people_to_ask: lines(&["My sister Jo", "My friend Tom"]),
                        professionals: lines(&["Dr. Sam Rivera (therapist), weekdays 9–5", "Dr. Helen Park (GP)"]),
                        reasons_for_living: lines(&["My niece", "Finishing my course"]),
                        ..SafetyPlan::default()
                    },
                )
                .await?;
            }
            "Sofia Marquez" => {
                safety_plans::save_plan(
                    store,
                    &at(now, 150),
                    &rec,
                    &SafetyPlan {
                        warning_signs: lines(&["Not eating", "Thinking everyone would be better off without me"]),
                        internal_coping: lines(&["Drawing", "Cold shower"]),
                        people_to_ask: lines(&["Mum"]),
                        ..SafetyPlan::default()
                    },
                )
                .await?;
                safety_plans::save_plan(
                    store,
                    &at(now, 40),
                    &rec,
                    &SafetyPlan {
                        warning_signs: lines(&[
                            "Not eating",
                            "Thinking everyone would be better off without me",
                            "Staying up all night on my phone",
                        ]),
                        internal_coping: lines(&["Drawing", "Cold shower", "Breathing exercise from session"]),
                        distractions: lines(&["The café on Mill Street", "Climbing gym with Ana"]),
                        people_to_ask: lines(&["Mum", "Ana"]),
                        professionals: lines(&["Dr. Sam Rivera (therapist)", "Community crisis team"]),
                        safer_environment: lines(&["Mum keeps the spare medication at her flat"]),
                        reasons_for_living: lines(&["My cat, Pepper", "Seeing my brother graduate"]),
                    },
                )
                .await?;
                let then = at(now, 10);
                let s = session_near(store, &then, &rec, now, 10).await?;
                let med = MedicationConversation {
                    raised_by: Some(RaisedBy::Therapist),
                    hopes: Some("Feeling less on edge at work.".into()),
                    concerns: Some("\"I'm scared medication will change who I am.\"".into()),
                    information_given: Some("Shared her PHQ-9 and GAD-7 trend and what a medication evaluation involves.".into()),
                    referral_offered: true,
                    referred_to: Some("Dr. Omar Haddad (psychiatrist, community mental health team)".into()),
                    client_response: Some("Declined for now: \"Not yet. I want to keep working on this here.\"".into()),
                    plan: Some("Respect her choice; check in on it again in four weeks; focus next sessions on what has felt unhelpful in our work.".into()),
                    follow_up_date: Some(date(18)),
                };
                note(
                    store,
                    &then,
                    &rec,
                    draft(
                        s,
                        NoteKind::Progress,
                        "Sofia's scores have risen over the last two months and she has missed sessions. Raised it openly.",
                        Some(med),
                    ),
                    true,
                )
                .await?;
                resolve(
                    store,
                    ctx,
                    &rec,
                    PromptKind::ReliableDeterioration,
                    Response::ClientDeclined { reasons_in_their_words: "I'm scared medication will change who I am. Not yet.".into() },
                    None,
                    None,
                )
                .await?;
                resolve(
                    store,
                    ctx,
                    &rec,
                    PromptKind::NoProgressDespiteEngagement,
                    Response::ReferralOffered { to: Some("Dr. Omar Haddad (psychiatrist, community mental health team)".into()) },
                    None,
                    Some("Offered in the same conversation; she declined for now (see the note of that session)."),
                )
                .await?;
                resolve(
                    store,
                    ctx,
                    &rec,
                    PromptKind::AllianceDrop,
                    Response::Discussed {
                        note: "Asked about the last sessions; she felt rushed. Agreed to start each session with her agenda.".into(),
                    },
                    None,
                    None,
                )
                .await?;
            }
            "Noah Fischer" => {
                if let Some(id) = open_prompt(store, ctx, &rec, PromptKind::PersistentImpairment).await? {
                    let until = (now + Duration::days(14)).unix_timestamp();
                    let action = Action { response: Response::DeferredUntil { date: until }, safety_action: None };
                    prompts::resolve_prompt(
                        store,
                        ctx,
                        &rec,
                        id,
                        Resolution { action, note: Some("After his return-to-work meeting.".into()) },
                    )
                    .await
                    .map_err(|e| CliError::failed(format!("demo prompt: {e}")))?;
                }
            }
            "Grace Mensah" => {
                safety_plans::save_plan(
                    store,
                    &at(now, 35),
                    &rec,
                    &SafetyPlan {
                        warning_signs: lines(&["Not answering the phone", "Drinking alone"]),
                        people_to_ask: lines(&["My neighbour Efua"]),
                        professionals: lines(&["Dr. Priya Nair (therapist)"]),
                        reasons_for_living: lines(&["My two boys"]),
                        ..SafetyPlan::default()
                    },
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}
