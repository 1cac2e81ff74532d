//! Demo shared decision: Maya Thompson (still at caseness after months of therapy) is weighing
//! a referral for a medication evaluation against continuing therapy with lifestyle strategies.
//! Her criteria, ratings, balance grid, own voice and a SURE test are filled in, and one dossier
//! snapshot has been generated. Noah Fischer put his decision off a month ago until a day that
//! has now come, so his record carries a "decision to revisit" prompt.

use crate::CliError;
use concord_domain::decisions::{ClientWords, CriterionName, DecisionQuestion, Fit, Importance, PreferredRole, Quadrant, StatusChange};
use concord_domain::ids::ClientId;
use concord_domain::policy::Actor;
use concord_store::decisions::{self as store, ClientVoice};
use concord_store::{Ctx, Store, StoreError, clients};

const CLIENT: &str = "Maya Thompson";

fn words(s: &str) -> Result<ClientWords, CliError> {
    ClientWords::parse(s).map_err(|e| CliError::failed(format!("demo text: {e}")))
}

fn list(v: &[&str]) -> Result<Vec<ClientWords>, CliError> {
    v.iter().map(|s| words(s)).collect()
}

/// Seeds the demo decisions: Maya's with a dossier, Noah's deferred (when they are among the
/// clients made), then evaluates the clients they mark for the prompt rules.
pub async fn seed(store: &Store, ctx: &Ctx, clients_made: &[(ClientId, Actor, &'static str, bool)]) -> Result<(), CliError> {
    seed_maya(store, ctx, clients_made).await?;
    seed_noah(store, ctx, clients_made).await?;
    concord_store::prompts::evaluate_pending(store, ctx, 100).await?;
    Ok(())
}

/// Noah deferred his decision 30 days ago until two days ago: the revisit day has come.
async fn seed_noah(store: &Store, ctx: &Ctx, clients_made: &[(ClientId, Actor, &'static str, bool)]) -> Result<(), CliError> {
    let Some((id, lead, _, _)) = clients_made.iter().find(|(_, _, n, _)| *n == "Noah Fischer") else { return Ok(()) };
    let access = clients::record_access(store, ctx, lead, *id).await?;
    let question = DecisionQuestion::parse("Should I ask about medication for my sleep and the worrying?")
        .map_err(|e| CliError::failed(e.to_string()))?;
    let did = store::create_decision(store, ctx, &access, question).await?;
    let today = ctx.now.date();
    let (deferred_on, revisit_on) = (today - time::Duration::days(30), today - time::Duration::days(2));
    store::update_decision(store, ctx, &access, did, "status", move |data| {
        data.record.set_preferred_role(Some(PreferredRole::DecideMyselfAfterHearingViews));
        data.record.apply(StatusChange::Defer { revisit_on }, deferred_on).map_err(|e| StoreError::Invalid(e.to_string()))
    })
    .await?;
    Ok(())
}

async fn seed_maya(store: &Store, ctx: &Ctx, clients_made: &[(ClientId, Actor, &'static str, bool)]) -> Result<(), CliError> {
    let Some((id, lead, _, _)) = clients_made.iter().find(|(_, _, n, _)| *n == CLIENT) else { return Ok(()) };
    let access = clients::record_access(store, ctx, lead, *id).await?;
    let question = DecisionQuestion::parse("Should I try medication for my low mood?").map_err(|e| CliError::failed(e.to_string()))?;
    let did = store::create_decision(store, ctx, &access, question).await?;
    let d = store::get_decision(store, ctx, &access, did).await?;
    let option_ids: Vec<_> = d.options.iter().map(|(o, _)| *o).collect();
    let criteria: [(&str, i64, [i64; 2]); 5] = [
        ("Feel like myself again", 9, [7, 6]),
        ("Sleep through the night", 8, [7, 5]),
        ("No weight gain", 6, [4, 9]),
        ("Time off work for appointments", 4, [5, 6]),
        ("Not relying on a pill", 5, [3, 9]),
    ];
    for (name, importance, fits) in criteria {
        let name = CriterionName::parse(name).map_err(|e| CliError::failed(e.to_string()))?;
        let importance = Importance::new(importance).map_err(|e| CliError::failed(e.to_string()))?;
        let cid = store::add_criterion(store, ctx, &access, did, &name, importance).await?;
        for (option, fit) in option_ids.iter().zip(fits) {
            let fit = Fit::new(fit).map_err(|e| CliError::failed(e.to_string()))?;
            store::set_rating(store, ctx, &access, did, *option, cid, fit).await?;
        }
    }
    let voice = ClientVoice {
        statement: Some(words(
            "I'm a primary-school teacher and I love being outdoors. I want treatment to help me get my energy and my sleep back, \
             and to enjoy my class again. I'd like to decide together with my prescriber, after hearing what they think.",
        )?),
        goals: list(&["Sleep at least six hours most nights", "Go back to hiking at weekends", "Enjoy teaching again"])?,
        personal_medicine: list(&["Walking by the river before school", "Calling my sister on Sundays", "Gardening"])?,
        concerns: list(&["Feeling flat or numb", "Weight gain", "Needing it for years"])?,
        questions: list(&[
            "How soon would I notice a difference?",
            "What side effects should I call you about?",
            "How would we decide together whether it is working?",
        ])?,
    };
    let balance: [(Quadrant, &[&str]); 4] = [
        (Quadrant::GoodAboutChanging, &["Maybe I'd sleep better", "More patience with the kids in class"]),
        (Quadrant::NotSoGoodAboutChanging, &["Worried about side effects", "Another appointment to fit in"]),
        (Quadrant::GoodAboutStayingTheSame, &["Therapy is helping a bit", "I know what to expect"]),
        (Quadrant::NotSoGoodAboutStayingTheSame, &["Still exhausted after months", "Missing out on weekends"]),
    ];
    let sure = crate_sure(ctx)?;
    store::update_decision(store, ctx, &access, did, "demo", move |data| {
        data.record.set_preferred_role(Some(PreferredRole::ShareTheDecision));
        data.voice = voice;
        for (q, entries) in balance {
            for e in entries {
                let w = ClientWords::parse(e).map_err(|e| StoreError::Invalid(e.to_string()))?;
                data.balance.add(q, w).map_err(|e| StoreError::Invalid(e.to_string()))?;
            }
        }
        data.sure = Some(sure);
        Ok(())
    })
    .await?;
    concord_web::dossier::generate(store, ctx, &access).await.map_err(|e| CliError::failed(format!("demo dossier: {e}")))?;
    Ok(())
}

/// Maya's SURE: sure of herself? no; understands the options, clear about what matters and
/// supported: yes — score 3, some decisional conflict.
fn crate_sure(ctx: &Ctx) -> Result<store::SureEntry, CliError> {
    concord_web::api::decisions::score_sure_answers(&[false, true, true, true], ctx.ts()).map_err(|e| CliError::failed(e.to_string()))
}
