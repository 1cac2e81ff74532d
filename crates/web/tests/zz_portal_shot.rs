#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod common;
use concord_domain::measures::schedule::Frequency;
use concord_domain::measures::score::Answers;
use concord_domain::measures::{InstrumentId, Registry};
use concord_store::{clients, measures};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn shot() {
    let app = common::spawn(common::Engine::Sqlite).await.unwrap();
    let w = &app.world;
    let ctx = app.ctx();
    let access = clients::record_access(&app.store, &ctx, &w.owner.user.actor(), w.client).await.unwrap();
    for (i, f) in [("phq9", Frequency::Weekly), ("gad7", Frequency::Weekly), ("checkin", Frequency::Daily)] {
        measures::set_schedule(&app.store, &ctx, &access, &InstrumentId::parse(i).unwrap(), f).await.unwrap();
    }
    let reg = Registry::shipped().unwrap();
    let phq = [18, 17, 15, 14, 12, 11, 10, 9];
    let gad = [14, 13, 13, 11, 10, 9, 9, 8];
    for week in 0..8 {
        let ctx = app.ctx();
        let secret = measures::create_portal_link(&app.store, &ctx, &access, ctx.ts() + 86400, None).await.unwrap().1;
        let pa = measures::open_portal(&app.store, &ctx, &secret, None).await.unwrap();
        for (id, total, n) in [("phq9", phq[week], 9usize), ("gad7", gad[week], 7usize)] {
            let def = reg.get(id).unwrap();
            let mut left = total;
            let mut a = Vec::new();
            for k in 0..n {
                let v = if k == 8 { 0 } else { left.min(3) };
                left -= v;
                a.push(Some(v));
            }
            if id == "phq9" {
                a.push(Some(1));
            }
            let input = measures::NewResponse::scored(def, Answers::from(a), ctx.ts(), measures::ResponseSource::Portal).unwrap();
            measures::portal_record_response(&app.store, &ctx, &pa, input).await.unwrap();
        }
        app.clock.advance(7 * 86400);
    }
    let ctx = app.ctx();
    let secret = measures::create_portal_link(&app.store, &ctx, &access, ctx.ts() + 30 * 86400, None).await.unwrap().1;
    let pin = measures::create_portal_link(&app.store, &ctx, &access, ctx.ts() + 30 * 86400, Some("1234")).await.unwrap().1;
    std::fs::write("/tmp/portalshot/url", format!("{}/portal/{secret}\n{}/portal/{pin}\n", app.base, app.base)).unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(400)).await;
}
