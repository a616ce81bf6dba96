//! The knowledge-base API against the running server: the shipped sample searched the way a
//! caller speaks, with filters and highlighted snippets; units edit only their own entries and
//! only the maintenance team (supervisors) publishes; imports name every bad row and write
//! nothing, exports import back; suggestions while an order is typed; an entry marked as an
//! order's answer counts in the KPIs; the routes are in the one OpenAPI document.

use anyhow::{Context, Result, bail};
use chrono::{Duration as Days, Utc};
use hotline_tests::api::{answered, insert_records, login, order_of, req};
use hotline_tests::{Hotline, http_request_as};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SETUP: &str = r#"
[kb]
load_sample = true
index_dir = "kb-index"

[[users]]
id = "sup"
role = "supervisor"
password = "sup-pw"

[[users]]
id = "1001"
role = "agent"
password = "agent-pw"

[[users]]
id = "rl"
role = "unit_staff"
unit = "市热力公司"
password = "rl-pw"

[[users]]
id = "jtj"
role = "unit_staff"
unit = "市交通局"
password = "jtj-pw"
"#;

/// Percent-encodes a query value (the request line is ASCII).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Tokens {
    sup: String,
    agent: String,
    rl: String,
    jtj: String,
}

/// The server with the sample loaded, and everyone logged in once the knowledge base answers.
fn start() -> Result<(Hotline, Tokens)> {
    let hl = Hotline::start_with(
        SETUP,
        &[
            ("HOTLINE_WORKORDERS__DRAFT_SCAN_SECS", "1"),
            ("HOTLINE_WORKORDERS__SMS", "off"),
        ],
    )?;
    let t = Tokens {
        sup: login(&hl, "sup", "sup-pw")?,
        agent: login(&hl, "1001", "agent-pw")?,
        rl: login(&hl, "rl", "rl-pw")?,
        jtj: login(&hl, "jtj", "jtj-pw")?,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, v) = req(&hl, "GET", "/api/kb/entries?limit=1", Some(&t.agent), "")?;
        if code == 200 && v["entries"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the knowledge base did not become ready: {code} {v}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Ok((hl, t))
}

fn search(hl: &Hotline, token: &str, query: &str) -> Result<Vec<Value>> {
    let (code, v) = req(
        hl,
        "GET",
        &format!("/api/kb/search?{query}"),
        Some(token),
        "",
    )?;
    if code != 200 {
        bail!("search {query}: {code} {v}");
    }
    Ok(v["hits"].as_array().context("hits")?.clone())
}

fn new_entry(unit: &str, title: &str, body: &str) -> String {
    json!({"kind": "everyday", "category": "城乡建设/供暖", "title": title, "body": body,
        "unit": unit, "keywords": ["暖气"]})
    .to_string()
}

fn step(hl: &Hotline, token: &str, id: &str, body: Value) -> Result<(u16, Value)> {
    req(
        hl,
        "POST",
        &format!("/api/kb/entries/{id}/steps"),
        Some(token),
        &body.to_string(),
    )
}

#[test]
fn the_sample_is_searched_as_callers_speak_and_units_edit_only_their_own() -> Result<()> {
    let (hl, t) = start()?;
    let hits = search(
        &hl,
        &t.agent,
        &format!("q={}", enc("我家暖气一直不热找谁啊")),
    )?;
    assert!(!hits.is_empty(), "the sample answers a heating complaint");
    let top = &hits[0];
    assert!(
        top["matched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "暖气"),
        "{top}"
    );
    let marked = format!("{}{}", top["title_html"], top["snippet_html"]);
    assert!(marked.contains("<mark>"), "highlighted: {marked}");
    // Filters: by unit, by kind.
    let unit = enc("市热力公司");
    for h in search(&hl, &t.agent, &format!("q={}&unit={unit}", enc("暖气")))? {
        assert_eq!(h["unit"], "市热力公司", "{h}");
    }
    let glossary = search(&hl, &t.agent, &format!("q={}&kind=glossary", enc("公积金")))?;
    assert!(!glossary.is_empty());
    assert!(glossary.iter().all(|h| h["kind"] == "glossary"));
    let (code, v) = req(
        &hl,
        "GET",
        "/api/kb/search?q=x&kind=gossip",
        Some(&t.agent),
        "",
    )?;
    assert_eq!(code, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("gossip"));
    let (code, _) = req(&hl, "GET", "/api/kb/search?q=x", None, "")?;
    assert_eq!(code, 401);

    // A unit drafts its own entry; an agent may not, nor a unit for another unit.
    let word = "锅炉房改造期间";
    let body = new_entry(
        "市热力公司",
        "锅炉房改造期间供暖怎么安排？",
        &format!("{word}由临时热源保障供暖，室温不低于18度。"),
    );
    let (code, v) = req(&hl, "POST", "/api/kb/entries", Some(&t.agent), &body)?;
    assert_eq!(code, 403, "{v}");
    let other = new_entry("市住建局", "别人的条目", "内容");
    let (code, v) = req(&hl, "POST", "/api/kb/entries", Some(&t.rl), &other)?;
    assert_eq!(code, 403, "{v}");
    let (code, v) = req(&hl, "POST", "/api/kb/entries", Some(&t.rl), &body)?;
    assert_eq!(code, 201, "{v}");
    let id = v["id"].as_str().context("id")?.to_string();
    let bad =
        json!({"kind": "everyday", "category": "", "title": "", "body": "b", "unit": "市热力公司"});
    let (code, v) = req(
        &hl,
        "POST",
        "/api/kb/entries",
        Some(&t.rl),
        &bad.to_string(),
    )?;
    assert_eq!(code, 422, "refused with the reasons: {v}");
    assert!(v["error"].as_str().unwrap().contains("title"), "{v}");

    // Submitted; the unit may not approve it; the maintenance team does.
    let (code, v) = step(&hl, &t.rl, &id, json!({"step": "submit"}))?;
    assert_eq!(code, 200, "{v}");
    let (code, _) = step(&hl, &t.rl, &id, json!({"step": "approve"}))?;
    assert_eq!(code, 403);
    let has = |hits: Vec<Value>| hits.iter().any(|h| h["id"] == json!(id));
    assert!(
        !has(search(&hl, &t.agent, &format!("q={}", enc(word)))?),
        "not yet published"
    );
    let (code, v) = step(&hl, &t.sup, &id, json!({"step": "approve"}))?;
    assert_eq!(code, 200, "{v}");
    let found = search(&hl, &t.agent, &format!("q={}", enc(word)))?;
    assert_eq!(found.first().map(|h| h["id"].clone()), Some(json!(id)));

    // Another unit sees only the version in force and may not retire it.
    let (code, v) = req(
        &hl,
        "GET",
        &format!("/api/kb/entries/{id}"),
        Some(&t.jtj),
        "",
    )?;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["versions"].as_array().unwrap().len(), 1);
    let (code, _) = step(&hl, &t.jtj, &id, json!({"step": "retire", "reason": "x"}))?;
    assert_eq!(code, 403);
    let (code, v) = step(
        &hl,
        &t.rl,
        &id,
        json!({"step": "retire", "reason": "改造完成"}),
    )?;
    assert_eq!(code, 200, "{v}");
    assert!(
        !has(search(&hl, &t.agent, &format!("q={}", enc(word)))?),
        "retired"
    );
    let (code, _) = step(&hl, &t.rl, &id, json!({"step": "dance"}))?;
    assert_eq!(code, 422);
    let (code, _) = step(&hl, &t.rl, "KB-NONE", json!({"step": "submit"}))?;
    assert_eq!(code, 404);
    Ok(())
}

#[test]
fn imports_name_every_bad_row_and_write_nothing_and_exports_import_back() -> Result<()> {
    let (hl, t) = start()?;
    let header = "kind,category,title,body,unit,keywords,valid_from,valid_to\n";
    let good = "日常咨询,交通/公交,定制公交怎么预约？,关注公交集团公众号在定制公交栏目预约，满15人开线,市公共交通总公司,定制公交,,";
    let bad = format!(
        "{header}{good}\n杂谈,交通/公交,问题二,答案,市公共交通总公司,,,\n日常咨询,交通/公交,问题三,答案,市公共交通总公司,,2027-02-30,\n"
    );
    let (code, v) = req(&hl, "POST", "/api/kb/import?format=csv", Some(&t.sup), &bad)?;
    assert_eq!(code, 422, "{v}");
    let rows: Vec<(u64, String)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [(3, "kind".to_string()), (4, "valid_from".to_string())]
    );
    let titled = |hits: Vec<Value>| hits.iter().any(|h| h["title"] == "定制公交怎么预约？");
    assert!(!titled(search(
        &hl,
        &t.agent,
        &format!("q={}", enc("定制公交预约"))
    )?));
    // An agent may not import; a unit may not import another unit's rows.
    let ok = format!("{header}{good}\n");
    let (code, _) = req(
        &hl,
        "POST",
        "/api/kb/import?format=csv",
        Some(&t.agent),
        &ok,
    )?;
    assert_eq!(code, 422, "a reader's rows are refused row by row");
    let (code, v) = req(&hl, "POST", "/api/kb/import?format=csv", Some(&t.rl), &ok)?;
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["rows"][0]["field"], "unit");
    let (code, v) = req(&hl, "POST", "/api/kb/import?format=xml", Some(&t.sup), &ok)?;
    assert_eq!(code, 422, "{v}");
    let (code, v) = req(&hl, "POST", "/api/kb/import?format=csv", Some(&t.sup), &ok)?;
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["imported"], 1);
    let hits = search(&hl, &t.agent, &format!("q={}", enc("定制公交咋预约")))?;
    assert_eq!(
        hits.first().map(|h| h["title"].clone()),
        Some(json!("定制公交怎么预约？"))
    );

    // The exports carry every entry in force and read back with the import's own parser.
    let csv = export(&hl, &t.sup, "format=csv", "text/csv")?;
    assert_eq!(csv.matches("定制公交怎么预约？").count(), 1);
    let json: Value =
        serde_json::from_str(&export(&hl, &t.agent, "format=json", "application/json")?)?;
    let n = json.as_array().context("array")?.len();
    assert!(n > 200, "the sample and the import: {n}");
    let back = hotline_kb::parse_csv(&csv).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(back.len(), n, "the CSV holds the same entries");
    let from_json =
        hotline_kb::parse_json(&json.to_string()).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(back, from_json, "both formats say the same");
    let unit = format!("format=json&unit={}", enc("市公共交通总公司"));
    let one: Value = serde_json::from_str(&export(&hl, &t.agent, &unit, "application/json")?)?;
    let one = one.as_array().context("array")?;
    assert!(!one.is_empty() && one.iter().all(|e| e["unit"] == "市公共交通总公司"));
    Ok(())
}

/// An export's body, checked to be a 200 of `content_type`.
fn export(hl: &Hotline, token: &str, query: &str, content_type: &str) -> Result<String> {
    let raw = http_request_as(
        hl.http,
        "GET",
        &format!("/api/kb/export?{query}"),
        Some(token),
        "",
    )?;
    let (head, body) = raw.split_once("\r\n\r\n").context("no body")?;
    if !head.starts_with("HTTP/1.1 200") || !head.to_lowercase().contains(content_type) {
        bail!("export {query}: {head}");
    }
    Ok(body.to_string())
}

#[test]
fn suggestions_while_typing_and_answers_counted_in_the_kpis() -> Result<()> {
    let (hl, t) = start()?;
    let typed = json!({"text": "来电人反映家里暖气一直不热，已经三天了，问找哪个单位"}).to_string();
    let (code, v) = req(&hl, "POST", "/api/kb/suggest", Some(&t.agent), &typed)?;
    assert_eq!(code, 200, "{v}");
    let s = v["suggestions"].as_array().context("suggestions")?;
    assert!(!s.is_empty() && s.len() <= 5, "{v}");
    assert!(
        !s[0]["matched"].as_array().unwrap().is_empty(),
        "why it matched: {}",
        s[0]
    );
    let entry = s[0]["id"].as_str().context("id")?.to_string();
    let (code, _) = req(&hl, "POST", "/api/kb/suggest", Some(&t.rl), &typed)?;
    assert_eq!(code, 403, "suggestions are for the center's agents");
    let (code, _) = req(
        &hl,
        "POST",
        "/api/kb/suggest",
        Some(&t.agent),
        "{\"txt\": 1}",
    )?;
    assert_eq!(code, 422);

    insert_records(&hl, vec![answered("kb-1", "13812341234")])?;
    let no = order_of(&hl, &t.agent, "kb-1")?;
    let answer = json!({"entry": entry}).to_string();
    let path = format!("/api/orders/{no}/answers");
    let (code, v) = req(&hl, "POST", &path, Some(&t.agent), &answer)?;
    assert_eq!(code, 201, "{v}");
    let (code, v) = req(&hl, "POST", &path, Some(&t.agent), &answer)?;
    assert_eq!(
        (code, v["new"].clone()),
        (200, json!(false)),
        "counted once"
    );
    let (code, _) = req(&hl, "POST", &path, Some(&t.rl), &answer)?;
    assert_eq!(code, 403);
    let (code, _) = req(
        &hl,
        "POST",
        &path,
        Some(&t.agent),
        &json!({"entry": "KB-NONE"}).to_string(),
    )?;
    assert_eq!(code, 404);
    let (code, _) = req(
        &hl,
        "POST",
        "/api/orders/YC-NONE/answers",
        Some(&t.agent),
        &answer,
    )?;
    assert_eq!(code, 422);
    let (code, v) = req(&hl, "GET", &path, Some(&t.agent), "")?;
    assert_eq!(code, 200);
    assert_eq!(v["answers"][0]["entry"], json!(entry));

    // Closed on the spot (直办): it counts in the direct-answer rate.
    for body in [
        json!({"step": "intake_filled", "request_type": "consultation", "category": "城乡建设/供暖", "urgency": "normal",
            "requester": {"name": "张三", "phone": "13812341234", "anonymous": false, "confidential": false},
            "address": "和平路 1 号", "area": "盐湖区", "content": "暖气不热"}),
        json!({"step": "answered_on_spot", "answer": "按知识库答复：联系热力公司报修"}),
    ] {
        let (code, v) = req(
            &hl,
            "POST",
            &format!("/api/orders/{no}/steps"),
            Some(&t.agent),
            &body.to_string(),
        )?;
        assert_eq!(code, 200, "{v}");
    }
    let (code, v) = req(
        &hl,
        "GET",
        &format!("/api/kb/entries/{entry}"),
        Some(&t.agent),
        "",
    )?;
    assert_eq!((code, v["hits"].clone()), (200, json!(1)), "{v}");
    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let period = format!(
        "from={}&to={}",
        today - Days::days(1),
        today + Days::days(1)
    );
    let (code, v) = req(&hl, "GET", &format!("/api/kpis?{period}"), Some(&t.sup), "")?;
    assert_eq!(code, 200, "{v}");
    let k = &v["knowledge"];
    assert_eq!(k["orders"], 1, "{k}");
    assert_eq!(k["answered_on_spot"], 1);
    assert_eq!(k["kb_answered"], 1);
    assert_eq!(k["direct_answer_rate"], 1.0);
    assert_eq!(k["top_entries"][0]["id"], json!(entry));
    assert_eq!(k["top_entries"][0]["hits"], 1);

    let (code, doc) = req(&hl, "GET", "/api/openapi.json", None, "")?;
    assert_eq!(code, 200);
    for p in [
        "/api/kb/search",
        "/api/kb/suggest",
        "/api/kb/import",
        "/api/orders/{no}/answers",
        "/api/orders/{no}/steps",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} in the one document");
    }
    Ok(())
}
