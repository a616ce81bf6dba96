//! Contact header value syntax: forms, display names, params, several contacts, errors.

use hotline_registrar::{Contact, ContactEntry, ContactError, ExpiresParam, parse_contacts};

fn contacts(value: &str) -> Vec<Contact<'_>> {
    parse_contacts(value)
        .map(|e| match e.expect("parses") {
            ContactEntry::Contact(c) => c,
            ContactEntry::Wildcard => panic!("unexpected wildcard in {value}"),
        })
        .collect()
}

fn error_of(value: &str) -> ContactError {
    parse_contacts(value)
        .find_map(Result::err)
        .unwrap_or_else(|| panic!("{value} should not parse"))
}

#[test]
fn name_addr_with_escaped_display_name_and_params() {
    let v = r#""Zhang \"San\" 张三" <sip:1001@10.0.0.5:5060;transport=udp>;expires=120;q=0.7;+sip.instance="<urn:uuid:f81d4fae>";reg-id=1"#;
    let c = &contacts(v)[0];
    assert_eq!(c.display_name(), Some(r#"Zhang "San" 张三"#));
    assert_eq!(c.uri(), "sip:1001@10.0.0.5:5060;transport=udp");
    assert_eq!(c.expires(), Some(ExpiresParam::Seconds(120)));
    assert_eq!(c.q(), Ok(Some(700)));
    assert_eq!(
        c.param("+sip.instance"),
        Some(Some("\"<urn:uuid:f81d4fae>\""))
    );
    assert_eq!(c.param("REG-ID"), Some(Some("1")));
    assert_eq!(
        c.params().map(|(n, _)| n).collect::<Vec<_>>(),
        ["expires", "q", "+sip.instance", "reg-id"]
    );
    assert!(c.is_sip());
}

#[test]
fn token_display_name_and_bare_addr_spec() {
    let c = &contacts("Bob Smith <sips:bob@example.com>")[0];
    assert_eq!(c.display_name(), Some("Bob Smith"));
    assert_eq!(c.uri(), "sips:bob@example.com");
    assert_eq!(c.raw_params(), "");
    assert_eq!(c.expires(), None);

    let c = &contacts("sip:bob@192.0.2.4;expires=60;flag")[0];
    assert_eq!(c.display_name(), None);
    assert_eq!(c.uri(), "sip:bob@192.0.2.4");
    assert_eq!(c.raw_params(), ";expires=60;flag");
    assert_eq!(c.param("flag"), Some(None));
    assert_eq!(c.expires(), Some(ExpiresParam::Seconds(60)));

    let c = &contacts("sip:[2001:db8::1]:5060;transport=tcp")[0];
    assert_eq!(c.uri(), "sip:[2001:db8::1]:5060");
    assert_eq!(c.param("transport"), Some(Some("tcp")));
}

#[test]
fn several_contacts_commas_inside_quotes_and_folding() {
    let v = "\"Doe, John\" <sip:j@h>;q=0.1 ,\r\n\t<sip:k@h;lr>;x=\"a,b\", sip:l@h";
    let cs = contacts(v);
    assert_eq!(
        cs.iter().map(Contact::uri).collect::<Vec<_>>(),
        ["sip:j@h", "sip:k@h;lr", "sip:l@h"]
    );
    assert_eq!(cs[0].display_name(), Some("Doe, John"));
    assert_eq!(cs[0].q(), Ok(Some(100)));
    assert_eq!(cs[1].param("x"), Some(Some("\"a,b\"")));
}

#[test]
fn wildcard() {
    let all: Vec<_> = parse_contacts(" * ").collect();
    assert_eq!(all, vec![Ok(ContactEntry::Wildcard)]);
    assert_eq!(error_of("*;expires=0"), ContactError::WildcardWithParams);
}

#[test]
fn malformed_expires_param_is_reported_as_such() {
    let c = &contacts("<sip:a@h>;expires=soon")[0];
    assert_eq!(c.expires(), Some(ExpiresParam::Malformed));
    let c = &contacts("<sip:a@h>;expires=99999999999")[0];
    assert_eq!(c.expires(), Some(ExpiresParam::Seconds(u32::MAX)));
}

#[test]
fn errors() {
    assert_eq!(error_of("\"Bob <sip:b@h>"), ContactError::UnterminatedQuote);
    assert_eq!(error_of("<sip:b@h"), ContactError::UnterminatedAngle);
    assert_eq!(
        error_of("sip:b@h?Route=%3Csip:x%3E"),
        ContactError::NeedsAngleBrackets
    );
    assert_eq!(
        error_of("\"Bob\" sip:b@h"),
        ContactError::NeedsAngleBrackets
    );
    assert_eq!(error_of("<sip:b@h> junk"), ContactError::TrailingJunk);
    assert_eq!(error_of("<sip:b@h>;=1"), ContactError::BadParam);
    assert_eq!(error_of("<>"), ContactError::Empty);
    assert_eq!(error_of(""), ContactError::Empty);
    let c = &contacts("<sip:b@h>;q=1.5")[0];
    assert_eq!(c.q(), Err(ContactError::BadQ));
}

#[test]
fn scheme_check() {
    assert!(!contacts("<tel:+861012345>")[0].is_sip());
    assert!(!contacts("<mailto:a@b>")[0].is_sip());
    assert!(!contacts("<sip:>")[0].is_sip());
    assert!(contacts("<SIP:a@b>")[0].is_sip());
}
