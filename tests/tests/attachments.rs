//! Attachments on work orders (issue 8) against the running server: the lead unit and a
//! co-unit upload files, list and download them byte for byte with their type and a download
//! name; refused types (415), names (422) and sizes (413, with and without `Expect:
//! 100-continue`, by length or chunked) store nothing; another unit sees none of it (404); the
//! center lists and downloads; uploads and downloads are audited.

use anyhow::Result;
use hotline_tests::Hotline;
use hotline_tests::api::{Raw, dispatched_to, login, query_escape, raw_req, req};
use serde_json::Value;
use sha2::{Digest, Sha256};

const SETUP: &str = r#"
[[users]]
id = "1001"
name = "王芳"
role = "agent"
password = "agent-pw"

[[users]]
id = "jtj"
name = "交通局张科长"
role = "unit_staff"
unit = "市交通局"
password = "jtj-pw"

[[users]]
id = "swj"
name = "水务局赵科长"
role = "unit_head"
unit = "市水务局"
password = "swj-pw"

[[users]]
id = "zjj"
name = "住建局陈科长"
role = "unit_staff"
unit = "市住建局"
password = "zjj-pw"
"#;

const MAX: usize = 10 * 1024 * 1024;

fn upload(hl: &Hotline, token: &str, no: &str, name: &str, ty: &str, data: &[u8]) -> Result<Raw> {
    raw_req(
        hl,
        "POST",
        &format!("/api/orders/{no}/attachments?name={}", query_escape(name)),
        Some(token),
        &[("Content-Type", ty)],
        data,
    )
}

fn get(hl: &Hotline, token: Option<&str>, path: &str) -> Result<Raw> {
    raw_req(hl, "GET", path, token, &[], b"")
}

fn error_of(r: &Raw) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

fn ids(list: &Value) -> Vec<String> {
    list["attachments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Two uploads within one millisecond would list in id order; the test's order is the
/// upload order, so each waits for the next millisecond.
fn next_ms() {
    std::thread::sleep(std::time::Duration::from_millis(3));
}

#[test]
fn units_and_the_center_attach_list_and_download_and_nobody_else_sees_them() -> Result<()> {
    let hl = Hotline::start_with(SETUP, &[("HOTLINE_WORKORDERS__DRAFT_SCAN_SECS", "1")])?;
    let agent = login(&hl, "1001", "agent-pw")?;
    let no = dispatched_to(
        &hl,
        &agent,
        "att-1",
        "13812340001",
        "市交通局",
        &["市水务局"],
    )?;
    let other = dispatched_to(&hl, &agent, "att-2", "13812340002", "市交通局", &[])?;
    let jtj = login(&hl, "jtj", "jtj-pw")?;
    let swj = login(&hl, "swj", "swj-pw")?;
    let zjj = login(&hl, "zjj", "zjj-pw")?;
    let sup = login(&hl, "test-sup", "test-sup-pw")?;
    let list_path = format!("/api/orders/{no}/attachments");

    // The lead unit uploads a PNG-like blob (every byte value, NULs, not UTF-8) and a PDF.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..8192u32).map(|i| (i.wrapping_mul(167) % 256) as u8));
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let up = upload(&hl, &jtj, &no, "现场 照片.png", "image/png", &png)?;
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let png_meta = up.json();
    let png_id = png_meta["id"].as_str().unwrap_or_default().to_string();
    assert!(!png_id.is_empty(), "{png_meta}");
    assert_eq!(png_meta["name"], "现场 照片.png");
    assert_eq!(png_meta["content_type"], "image/png");
    assert_eq!(png_meta["size"], png.len());
    assert_eq!(png_meta["sha256"], hex::encode(Sha256::digest(&png)));
    assert_eq!(png_meta["uploaded_by"], "jtj");
    assert!(png_meta["uploaded_at"].is_string(), "{png_meta}");
    assert_eq!(
        up.header("location"),
        Some(format!("{list_path}/{png_id}").as_str())
    );
    next_ms();
    let up = upload(&hl, &jtj, &no, "回复函.pdf", "application/pdf", &pdf)?;
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let pdf_id = up.json()["id"].as_str().unwrap_or_default().to_string();
    next_ms();
    // A co-unit's head may attach too; the type's parameters are not kept.
    let txt = "水管已于今日修复。\n".as_bytes();
    let up = upload(&hl, &swj, &no, "说明.txt", "text/plain; charset=utf-8", txt)?;
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    assert_eq!(up.json()["content_type"], "text/plain");
    assert_eq!(up.json()["uploaded_by"], "swj");
    let txt_id = up.json()["id"].as_str().unwrap_or_default().to_string();

    // Listed oldest first with their metadata, no bytes.
    let list = get(&hl, Some(&jtj), &list_path)?;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(ids(&list), [png_id.as_str(), &pdf_id, &txt_id]);
    assert_eq!(list["attachments"][0], png_meta);
    assert_eq!(list["attachments"][1]["name"], "回复函.pdf");
    assert_eq!(list["attachments"][1]["size"], pdf.len());
    assert!(list["attachments"][0].get("data").is_none(), "{list}");

    // Downloaded byte for byte, as a download with the UTF-8 name, never sniffed.
    let d = get(&hl, Some(&jtj), &format!("{list_path}/{png_id}"))?;
    assert_eq!(d.status, 200);
    assert!(d.body == png, "the PNG came back changed");
    assert_eq!(d.header("content-type"), Some("image/png"));
    assert_eq!(
        d.header("content-disposition"),
        Some("attachment; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.png")
    );
    assert_eq!(d.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        d.header("content-length"),
        Some(png.len().to_string().as_str())
    );

    // Types outside the list: 415 naming what is accepted; nothing stored.
    for ty in ["application/zip", "text/html", "image/svg+xml"] {
        let r = upload(&hl, &jtj, &no, "x.bin", ty, b"PK\x03\x04")?;
        assert_eq!(r.status, 415, "{ty}");
        let e = error_of(&r);
        assert!(
            e.contains(ty) && e.contains("image/png") && e.contains("application/pdf"),
            "{e}"
        );
    }
    let r = raw_req(
        &hl,
        "POST",
        &format!("{list_path}?name=a.png"),
        Some(&jtj),
        &[],
        b"\x89PNG",
    )?;
    assert_eq!(r.status, 415);
    assert!(error_of(&r).contains("Content-Type"), "{}", error_of(&r));

    // Names: required, at most 200 characters, no folders; an empty file is refused too.
    let no_name = raw_req(
        &hl,
        "POST",
        &list_path,
        Some(&jtj),
        &[("Content-Type", "image/png")],
        &png,
    )?;
    assert_eq!(no_name.status, 422);
    assert!(
        error_of(&no_name).contains("name"),
        "{}",
        error_of(&no_name)
    );
    for bad in ["../a.png", "C:\\a.png", &"长".repeat(201)] {
        let r = upload(&hl, &jtj, &no, bad, "image/png", &png)?;
        assert_eq!(r.status, 422, "{bad}: {}", error_of(&r));
    }
    let r = upload(&hl, &jtj, &no, &"长".repeat(196), "image/png", b"")?;
    assert_eq!(r.status, 422);
    assert!(error_of(&r).contains("empty"), "{}", error_of(&r));

    // 10 MiB is the limit: one byte more is 413 with the reason, whether the length is
    // declared (and the client waits for 100 Continue or not) or the body is chunked.
    let over = vec![0x5a_u8; MAX + 1];
    let r = upload(&hl, &jtj, &no, "big.pdf", "application/pdf", &over)?;
    assert_eq!(r.status, 413);
    assert!(r.body_sent);
    assert!(error_of(&r).contains("10 MiB"), "{}", error_of(&r));
    let r = raw_req(
        &hl,
        "POST",
        &format!("{list_path}?name=big.pdf"),
        Some(&jtj),
        &[
            ("Content-Type", "application/pdf"),
            ("Expect", "100-continue"),
        ],
        &over,
    )?;
    assert_eq!(r.status, 413, "{}", error_of(&r));
    assert!(!r.body_sent, "told to send 10 MiB only to refuse them");
    let mut chunked = Vec::new();
    for _ in 0..11 {
        chunked.extend_from_slice(format!("{:x}\r\n", 1024 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(0x41_u8, 1024 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = raw_req(
        &hl,
        "POST",
        &format!("{list_path}?name=big.txt"),
        Some(&jtj),
        &[
            ("Content-Type", "text/plain"),
            ("Transfer-Encoding", "chunked"),
        ],
        &chunked,
    )?;
    assert_eq!(r.status, 413, "{}", error_of(&r));
    next_ms();
    let full: Vec<u8> = (0..MAX).map(|i| (i % 251) as u8).collect();
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let up = upload(&hl, &jtj, &no, "统计表.xlsx", xlsx, &full)?;
    assert_eq!(up.status, 201, "exactly 10 MiB: {}", error_of(&up));
    let xlsx_id = up.json()["id"].as_str().unwrap_or_default().to_string();
    let d = get(&hl, Some(&swj), &format!("{list_path}/{xlsx_id}"))?;
    assert!(
        d.status == 200 && d.body == full,
        "the 10 MiB file came back changed"
    );
    assert_eq!(d.header("content-type"), Some(xlsx));
    let list = get(&hl, Some(&jtj), &list_path)?.json();
    assert_eq!(
        ids(&list),
        [png_id.as_str(), &pdf_id, &txt_id, &xlsx_id],
        "{list}"
    );

    // Another unit: the order does not exist for it, nor do its files.
    let r = get(&hl, Some(&zjj), &list_path)?;
    assert_eq!(r.status, 404);
    assert!(error_of(&r).contains(&no), "{}", error_of(&r));
    let r = get(&hl, Some(&zjj), &format!("{list_path}/{png_id}"))?;
    assert_eq!(r.status, 404);
    assert!(
        r.body.len() < 200,
        "no bytes of the file: {} bytes",
        r.body.len()
    );
    let r = upload(&hl, &zjj, &no, "a.png", "image/png", &png)?;
    assert_eq!(r.status, 404);

    // The center lists and downloads every file of the order.
    let list = get(&hl, Some(&agent), &list_path)?;
    assert_eq!(list.status, 200);
    assert_eq!(
        ids(&list.json()),
        [png_id.as_str(), &pdf_id, &txt_id, &xlsx_id]
    );
    let d = get(&hl, Some(&agent), &format!("{list_path}/{pdf_id}"))?;
    assert_eq!(d.status, 200);
    assert!(d.body == pdf, "the PDF came back changed");
    assert_eq!(d.header("content-type"), Some("application/pdf"));
    assert_eq!(
        d.header("content-disposition"),
        Some("attachment; filename*=UTF-8''%E5%9B%9E%E5%A4%8D%E5%87%BD.pdf")
    );

    // An attachment only through its own order; unknown ids and no token.
    let r = get(
        &hl,
        Some(&jtj),
        &format!("/api/orders/{other}/attachments/{png_id}"),
    )?;
    assert_eq!(r.status, 404);
    assert!(error_of(&r).contains(&png_id), "{}", error_of(&r));
    let r = get(&hl, Some(&jtj), &format!("/api/orders/{other}/attachments"))?;
    assert_eq!(ids(&r.json()), Vec::<String>::new());
    let r = get(&hl, Some(&jtj), &format!("{list_path}/no-such-id"))?;
    assert_eq!(r.status, 404);
    let r = get(&hl, None, &list_path)?;
    assert_eq!(r.status, 401);
    let r = upload(&hl, "not-a-token", &no, "a.png", "image/png", &png)?;
    assert_eq!(r.status, 401);

    // Four uploads and three downloads in the order's audit log, nothing of the refusals.
    let (code, audit) = req(
        &hl,
        "GET",
        &format!("/api/orders/{no}/audit"),
        Some(&sup),
        "",
    )?;
    assert_eq!(code, 200, "{audit}");
    let entries: Vec<(String, String)> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "attachment")
        .map(|e| {
            (
                e["user"].as_str().unwrap_or_default().to_string(),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let uploads: Vec<_> = entries
        .iter()
        .filter(|(_, d)| d.starts_with("upload"))
        .collect();
    let downloads: Vec<_> = entries
        .iter()
        .filter(|(_, d)| d.starts_with("download"))
        .collect();
    assert_eq!((uploads.len(), downloads.len()), (4, 3), "{entries:?}");
    assert!(
        uploads
            .iter()
            .any(|(u, d)| u == "jtj" && d.contains(&png_id) && d.contains("现场 照片.png")),
        "{entries:?}"
    );
    assert!(
        downloads
            .iter()
            .any(|(u, d)| u == "1001" && d.contains(&pdf_id)),
        "{entries:?}"
    );

    // The routes are in the API document.
    let (code, doc) = req(&hl, "GET", "/api/openapi.json", None, "")?;
    assert_eq!(code, 200);
    assert!(
        doc["paths"]["/api/orders/{no}/attachments"]["post"].is_object(),
        "{}",
        doc["paths"]
    );
    assert!(doc["paths"]["/api/orders/{no}/attachments/{id}"]["get"].is_object());
    Ok(())
}
