//! The assignment tool at the size of a large customer: 10,000 tokens and 9,990 users load and
//! apply in under 2 seconds in Chromium, the table can be searched and filtered by serial or
//! UPN, and "Start over" asks before it wipes the work.

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::tools::Tool;
use crate::support::{spawn_app, Backend};
use fantoccini::{Client, Locator};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const TOKENS: usize = 10_000;
const USERS: usize = 9_990;

fn files(dir: &std::path::Path) -> (String, String) {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut tokens = String::from("serial number,secret key,time interval,manufacturer,model\n");
    for i in 0..TOKENS {
        let secret: String = (0..32)
            .map(|k| B32[(i * 7 + k * 13 + i / 32) % 32] as char)
            .collect();
        writeln!(
            tokens,
            "{},{secret},30,Deepnet Security,SafeID/Enterprise",
            20_000_000 + i
        )
        .unwrap();
    }
    let mut users = String::new();
    for i in 0..USERS {
        writeln!(users, "user{i}@acme.com,User {i}").unwrap();
    }
    let (t, u) = (dir.join("tokens.csv"), dir.join("users.txt"));
    std::fs::write(&t, tokens).unwrap();
    std::fs::write(&u, users).unwrap();
    (t.display().to_string(), u.display().to_string())
}

async fn wait_js(c: &Client, expr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = c
            .execute(&format!("return !!({expr});"), vec![])
            .await
            .unwrap();
        if v == serde_json::Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {expr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn js(c: &Client, expr: &str) -> serde_json::Value {
    c.execute(&format!("return {expr};"), vec![]).await.unwrap()
}

async fn rows(c: &Client) -> u64 {
    js(c, "document.querySelectorAll('#tokens tbody tr').length")
        .await
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn ten_thousand_tokens_load_and_apply_in_under_two_seconds_with_search_and_filter() {
    crate::require_tools!(Tool::Chromium, Tool::Chromedriver);
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (tokens, users) = files(dir.path());
    let b = Browser::start(BrowserOptions::default()).await;
    let c = b.client.clone();
    c.goto(&format!("{}/tools/assign", app.base_url))
        .await
        .unwrap();
    wait_js(&c, "document.body.dataset.assignReady === 'true'").await;

    let started = Instant::now();
    c.find(Locator::Id("token-file"))
        .await
        .unwrap()
        .send_keys(&tokens)
        .await
        .unwrap();
    wait_js(
        &c,
        "document.getElementById('table-summary').textContent.startsWith('10000 tokens')",
    )
    .await;
    let load = started.elapsed();
    c.find(Locator::Id("user-file"))
        .await
        .unwrap()
        .send_keys(&users)
        .await
        .unwrap();
    wait_js(
        &c,
        "document.getElementById('user-list').value.length > 100000",
    )
    .await;
    let started = Instant::now();
    c.find(Locator::Id("apply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        &c,
        "document.getElementById('done').textContent.includes('Assigned 9990 tokens')",
    )
    .await;
    let apply = started.elapsed();
    eprintln!("assignment tool, {TOKENS} tokens and {USERS} users: load {load:?}, apply {apply:?}");
    assert!(
        load + apply < Duration::from_secs(2),
        "load {load:?} + apply {apply:?} must stay under 2 s"
    );
    assert_eq!(
        js(&c, "document.getElementById('upn-20000000').value").await,
        "user0@acme.com"
    );
    assert!(rows(&c).await <= 200, "a page of rows, not all 10,000");

    // Search by serial, by UPN; filter by status.
    let search = c.find(Locator::Id("search")).await.unwrap();
    search.send_keys("2000999").await.unwrap();
    wait_js(
        &c,
        "document.querySelectorAll('#tokens tbody tr').length === 10",
    )
    .await;
    let serials = js(
        &c,
        "[...document.querySelectorAll('#tokens tbody tr')].map(r => r.dataset.serial)",
    )
    .await;
    assert!(serials
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.as_str().unwrap().contains("2000999")));
    search.clear().await.unwrap();
    search.send_keys("user4242@").await.unwrap();
    wait_js(
        &c,
        "document.querySelectorAll('#tokens tbody tr').length === 1",
    )
    .await;
    assert_eq!(
        js(
            &c,
            "document.querySelector('#tokens tbody tr').dataset.serial"
        )
        .await,
        "20004242"
    );
    search.clear().await.unwrap();
    c.execute(
        "var s = document.getElementById('search'); s.value = '';
         s.dispatchEvent(new Event('input'));",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("status-filter"))
        .await
        .unwrap()
        .select_by_value("Free")
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelectorAll('#tokens tbody tr').length === 10",
    )
    .await;
    assert!(js(&c, "document.getElementById('table-count').textContent")
        .await
        .as_str()
        .unwrap()
        .contains("all 10 matching"));
    c.find(Locator::Id("status-filter"))
        .await
        .unwrap()
        .select_by_value("all")
        .await
        .unwrap();
    wait_js(&c, "!document.getElementById('more').hidden").await;
    c.find(Locator::Id("more"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(rows(&c).await, 400, "Show more adds a page");

    // Drag a user onto another row (the table's one set of listeners): the two swap.
    c.execute(
        "var s = document.getElementById('search'); s.value = '2000000';
         s.dispatchEvent(new Event('input'));",
        vec![],
    )
    .await
    .unwrap();
    wait_js(
        &c,
        "document.querySelectorAll('#tokens tbody tr').length === 10",
    )
    .await;
    c.execute(
        "var dt = new DataTransfer();
         var fire = function (el, type) {
           el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
         };
         var grip = document.querySelector('tr[data-serial=\"20000000\"] .grip');
         var target = document.querySelector('tr[data-serial=\"20000001\"] td');
         fire(grip, 'dragstart'); fire(target, 'dragover'); fire(target, 'drop'); fire(grip, 'dragend');",
        vec![],
    )
    .await
    .unwrap();
    wait_js(
        &c,
        "document.getElementById('upn-20000001').value === 'user0@acme.com'",
    )
    .await;
    assert_eq!(
        js(&c, "document.getElementById('upn-20000000').value").await,
        "user1@acme.com"
    );
    c.execute(
        "var s = document.getElementById('search'); s.value = '';
         s.dispatchEvent(new Event('input'));",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("more"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Start over asks first; keeping the work keeps it.
    c.find(Locator::Id("clear"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let asked = js(
        &c,
        "document.getElementById('confirm-clear-text').textContent",
    )
    .await;
    assert!(
        asked
            .as_str()
            .unwrap()
            .contains("10000 tokens and 9990 assignments"),
        "{asked}"
    );
    assert_eq!(rows(&c).await, 400, "nothing is cleared yet");
    c.find(Locator::Id("confirm-clear-no"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        js(&c, "document.getElementById('confirm-clear').hidden").await,
        true
    );
    assert_eq!(rows(&c).await, 400);
    c.find(Locator::Id("clear"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("confirm-clear-yes"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelectorAll('#tokens tbody tr').length === 0",
    )
    .await;
}
