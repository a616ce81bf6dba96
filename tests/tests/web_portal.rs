//! The handling units' portal and the center's review and callback screens in headless
//! Chromium (issue 8): a unit asks for an extension and its head approves it in the portal;
//! another order is returned with reasons; the supervisor reviews the unit's reply and an agent
//! records the callback on /center; a unit attaches files to an order in the portal, sees them
//! listed and downloads one, and a file too large or of a refused type is explained with the
//! server's words. Screenshots go to `target/screenshots/`.

use anyhow::{Result, bail};
use hotline_tests::Hotline;
use hotline_tests::api::{WEB_USERS, answered, insert_records, login, order_of, req};
use hotline_tests::webdriver::Browser;
use serde_json::json;

/// The web users and 市交通局's head, who decides extensions.
fn setup() -> String {
    format!(
        "{WEB_USERS}\n[[users]]\nid = \"jtj-head\"\nname = \"交通局刘局长\"\nrole = \"unit_head\"\nunit = \"市交通局\"\npassword = \"head-pw\"\n"
    )
}

/// An order dispatched to 市交通局 from call record `id`.
fn dispatched(hl: &Hotline, agent: &str, id: &str, caller: &str) -> Result<String> {
    insert_records(hl, vec![answered(id, caller)])?;
    let no = order_of(hl, agent, id)?;
    for body in [
        json!({"step": "intake_filled", "request_type": "complaint", "category": "交通/道路", "urgency": "normal",
            "requester": {"name": "李四", "phone": caller, "anonymous": false, "confidential": false},
            "address": "解放路", "area": "盐湖区", "content": "解放路红绿灯坏了三天没人修"}),
        json!({"step": "dispatched", "lead": "市交通局", "co": [], "card": "请核实处理"}),
    ] {
        let (code, v) = req(
            hl,
            "POST",
            &format!("/api/orders/{no}/steps"),
            Some(agent),
            &body.to_string(),
        )?;
        if code != 200 {
            bail!("{body}: {code} {v}");
        }
    }
    Ok(no)
}

#[test]
fn extension_approved_by_the_head_a_return_then_review_and_callback_at_the_center() -> Result<()> {
    let hl = Hotline::start_with(&setup(), &[("HOTLINE_WORKORDERS__DRAFT_SCAN_SECS", "1")])?;
    let agent = login(&hl, "1001", "agent-pw")?;
    let first = dispatched(&hl, &agent, "portal-1", "13812340001")?;
    let second = dispatched(&hl, &agent, "portal-2", "13812340002")?;
    let staff = login(&hl, "jtj", "jtj-pw")?;
    let head = login(&hl, "jtj-head", "head-pw")?;
    let sup = login(&hl, "sup", "sup-pw")?;

    let b = Browser::start(1366, 768)?;
    // The unit signs for the first order and asks for ten more days.
    b.open_as(hl.http, "/units", &staff, "jtj", "unit_staff")?;
    let row = format!("#orders tr[data-no='{first}']");
    b.wait_text(&row, |t| t.contains("待签收"))?;
    b.click(&row)?;
    // The order opens when its details have loaded (the 签收 key is hidden until then).
    b.wait_text("#facts", |t| t.contains(&first))?;
    b.click("#sign")?;
    b.wait_text("#facts", |t| t.contains("办理中"))?;
    let day = (chrono::Utc::now() + chrono::Duration::days(20))
        .format("%Y-%m-%d")
        .to_string();
    // A date input takes the typed digits in the locale's order: set it as the page would.
    b.eval(&format!(
        "document.getElementById('extend-date').value = '{day}'; return 1;"
    ))?;
    b.type_into("#extend-reason", "需协调交警部门更换信号机")?;
    b.type_into("#extend-basis", "设备采购需走政府采购程序")?;
    b.click("#extend button[type=submit]")?;
    b.wait_text("#facts", |t| t.contains("延期申请"))?;
    b.shot("units-3-extension-asked")?;

    // The second order goes back to the center with reasons.
    let row2 = format!("#orders tr[data-no='{second}']");
    b.click(&row2)?;
    b.wait_text("#facts", |t| t.contains(&second))?;
    b.type_into("#return-reasons", "路灯由市城市管理局负责，不属本单位职责")?;
    b.type_into("#return-basis", "《运城市市政设施管理职责划分》")?;
    b.click("#return button[type=submit]")?;
    b.wait_text("#facts", |t| t.contains("退回待审"))?;
    let (_, v) = req(
        &hl,
        "GET",
        &format!("/api/orders/{second}"),
        Some(&agent),
        "",
    )?;
    assert_eq!(v["order"]["status"], "return_pending", "{v}");

    // The head approves the extension.
    b.open_as(hl.http, "/units", &head, "jtj-head", "unit_head")?;
    b.wait_text(&row, |t| t.contains("办理中"))?;
    b.click(&row)?;
    b.wait_text("#decide-what", |t| t.contains("需协调交警部门"))?;
    b.type_into("#decide-note", "同意，抓紧采购")?;
    b.click("#decide-informed")?;
    b.shot("units-4-head-decides")?;
    b.click("#approve")?;
    b.wait_text("#facts", |t| !t.contains("延期申请"))?;
    let (_, v) = req(
        &hl,
        "GET",
        &format!("/api/orders/{first}"),
        Some(&agent),
        "",
    )?;
    assert_eq!(v["order"]["extensions"], 1, "{v}");
    assert!(
        v["order"]["due_at"]
            .as_str()
            .unwrap_or("")
            .starts_with(&day[..7]),
        "{v}"
    );

    // The unit replies (API); the supervisor reviews it on /center.
    let body = json!({"step": "replied", "public": "信号灯已修复。", "internal": "已更换", "contacted_caller": true, "solved": true});
    let (code, v) = req(
        &hl,
        "POST",
        &format!("/api/orders/{first}/steps"),
        Some(&staff),
        &body.to_string(),
    )?;
    assert_eq!(code, 200, "{v}");
    b.open_as(hl.http, "/center", &sup, "sup", "supervisor")?;
    let rrow = format!("#review tr[data-no='{first}']");
    b.wait_text(&rrow, |t| t.contains("市交通局"))?;
    b.click(&rrow)?;
    b.wait_text("#facts", |t| t.contains("信号灯已修复"))?;
    b.type_into("#review-note", "答复完整")?;
    b.shot("center-1-review")?;
    b.click("#pass")?;
    let crow = format!("#callbacks tr[data-no='{first}']");
    b.wait_text(&crow, |t| t.contains("待回访"))?;

    // An agent calls the citizen back: reached, solved, satisfied.
    b.open_as(hl.http, "/center", &agent, "1001", "agent")?;
    b.wait_text(&crow, |t| t.contains("待回访"))?;
    b.click(&crow)?;
    b.wait_text("#facts", |t| t.contains("信号灯已修复"))?;
    b.click("#cb-solved")?;
    b.click("#callback-form button[type=submit]")?;
    b.wait_text("#facts", |t| t.contains("已回访"))?;
    b.shot("center-2-called-back")?;
    let (_, v) = req(
        &hl,
        "GET",
        &format!("/api/orders/{first}"),
        Some(&agent),
        "",
    )?;
    assert_eq!(v["order"]["status"], "called_back", "{v}");
    assert_eq!(v["order"]["satisfaction"], "satisfied", "{v}");
    Ok(())
}

/// The bytes the page's last download handed to the browser, once it did (its blob read back
/// by the hook `watch_downloads` installs): name, type and the bytes as hex.
fn downloaded(b: &Browser) -> Result<(String, String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let v = b.eval("return window.__downloaded || null;")?;
        if let Some(hex) = v["hex"].as_str() {
            return Ok((
                v["name"].as_str().unwrap_or_default().to_string(),
                v["type"].as_str().unwrap_or_default().to_string(),
                hex.to_string(),
            ));
        }
        if std::time::Instant::now() > deadline {
            bail!("the page never started a download: {v}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Records what the page downloads: the object URL's blob (read back as hex) and the name of
/// the temporary link clicked for it. Headless Chromium would save the file where nobody
/// looks; this keeps the page's own path (fetch, blob, object URL, <a download>) and lets the
/// test see the bytes.
fn watch_downloads(b: &Browser) -> Result<()> {
    b.eval(
        "window.__downloaded = null;
         const made = URL.createObjectURL.bind(URL);
         const blobs = new Map();
         URL.createObjectURL = (blob) => { const u = made(blob); blobs.set(u, blob); return u; };
         const click = HTMLAnchorElement.prototype.click;
         HTMLAnchorElement.prototype.click = function () {
           const blob = blobs.get(this.href);
           if (blob) {
             const name = this.download;
             blob.arrayBuffer().then((buf) => {
               const hex = Array.from(new Uint8Array(buf), (x) => x.toString(16).padStart(2, '0')).join('');
               window.__downloaded = { name, type: blob.type, hex };
             });
           }
           return click.call(this);
         };
         return 1;",
    )?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_unit_attaches_files_in_the_portal_and_downloads_them() -> Result<()> {
    let hl = Hotline::start_with(&setup(), &[("HOTLINE_WORKORDERS__DRAFT_SCAN_SECS", "1")])?;
    let agent = login(&hl, "1001", "agent-pw")?;
    let no = dispatched(&hl, &agent, "portal-att-1", "13812340003")?;
    let staff = login(&hl, "jtj", "jtj-pw")?;
    // The files the unit picks: a photo (every byte value, NULs), one just over 10 MiB and an
    // archive, a type not accepted.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..2048u32).map(|i| (i.wrapping_mul(131) % 256) as u8));
    let photo = hl.dir.path().join("site-photo.png");
    std::fs::write(&photo, &png)?;
    let big = hl.dir.path().join("scan.pdf");
    std::fs::write(&big, vec![b'%'; 10 * 1024 * 1024 + 1])?;
    let zip = hl.dir.path().join("photos.zip");
    std::fs::write(&zip, b"PK\x03\x04\x14\0\0\0")?;

    let b = Browser::start(1366, 768)?;
    b.open_as(hl.http, "/units", &staff, "jtj", "unit_staff")?;
    let row = format!("#orders tr[data-no='{no}']");
    b.wait_text(&row, |t| t.contains("待签收"))?;
    b.click(&row)?;
    b.wait_text("#facts", |t| t.contains(&no))?;
    b.wait_text("#att-none", |t| t.contains("暂无附件"))?;

    b.upload("#att-file", &photo)?;
    b.wait_text("#att-list tbody", |t| t.contains("site-photo.png"))?;
    b.wait_text("#att-status", |t| t.contains("已上传"))?;
    let listed = b.text("#att-list tbody")?;
    assert!(listed.contains("jtj") && listed.contains("KB"), "{listed}");
    let (code, v) = req(
        &hl,
        "GET",
        &format!("/api/orders/{no}/attachments"),
        Some(&agent),
        "",
    )?;
    assert_eq!(code, 200, "{v}");
    let a = &v["attachments"];
    assert_eq!(a.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(a[0]["name"], "site-photo.png");
    assert_eq!(a[0]["content_type"], "image/png");
    assert_eq!(a[0]["size"], png.len());
    assert_eq!(a[0]["uploaded_by"], "jtj");

    // Its name downloads it: the bytes as uploaded, under its name.
    watch_downloads(&b)?;
    b.click("#att-list tbody a")?;
    let (name, ty, bytes) = downloaded(&b)?;
    assert_eq!(
        (name.as_str(), ty.as_str()),
        ("site-photo.png", "image/png")
    );
    assert!(
        bytes == hex(&png),
        "the download's bytes differ from the upload"
    );
    b.shot("units-5-attachments")?;

    // Refused files: the banner says what the server said; nothing is added.
    b.upload("#att-file", &big)?;
    let e = b.wait_text("#error", |t| t.contains("scan.pdf"))?;
    assert!(e.contains("larger than 10 MiB"), "{e}");
    b.upload("#att-file", &zip)?;
    let e = b.wait_text("#error", |t| t.contains("photos.zip"))?;
    assert!(
        e.contains("application/zip") && e.contains("image/png"),
        "{e}"
    );
    let (_, v) = req(
        &hl,
        "GET",
        &format!("/api/orders/{no}/attachments"),
        Some(&staff),
        "",
    )?;
    assert_eq!(v["attachments"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        b.eval("return document.querySelectorAll('#att-list tbody tr').length;")?,
        1
    );
    Ok(())
}
