//! The assignment tool from the command line and its library: order, inventories, unassign,
//! the per-user limit, bad files, and the Entra export byte for byte.

use seedport::assign::{
    export, parse_token_file, parse_users, AssignArgs, AssignError, Assignments, DisplayName,
    Status, Upn,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use time::macros::date;
use time::Date;

const DAY: Date = date!(2026 - 01 - 15);
const LATER: Date = date!(2026 - 02 - 01);
const ENTRA_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model";
const INV_HEADER: &str =
    "upn,display name,status,date,serial number,secret key,time interval,manufacturer,model";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/assign")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn table(tokens: &str) -> Assignments {
    let (_, rows) = parse_token_file("tokens.csv", tokens).unwrap();
    Assignments::new(rows).unwrap()
}

fn upns(a: &Assignments) -> Vec<Option<String>> {
    a.rows()
        .iter()
        .map(|r| r.upn.as_ref().map(|u| u.to_string()))
        .collect()
}

fn statuses(a: &Assignments) -> Vec<Status> {
    a.rows().iter().map(|r| r.status).collect()
}

fn args(out: &Path) -> AssignArgs {
    AssignArgs {
        tokens: None,
        users: None,
        inventory: None,
        unassign: vec![],
        out: out.to_path_buf(),
        date: None,
    }
}

#[test]
fn users_get_free_tokens_in_order_and_holders_are_skipped() {
    let mut a = table(&read("tokens.csv"));
    let users = parse_users("users.txt", &read("users.txt")).unwrap();
    let r = a.apply(&users, DAY).unwrap();
    assert_eq!(
        r.assigned,
        vec![
            ("user1@acme.com".to_string(), "10001001".to_string()),
            ("user2@acme.com".to_string(), "10001002".to_string()),
            ("user3@acme.com".to_string(), "10001003".to_string()),
        ]
    );
    assert_eq!(a.rows()[0].display_name.as_str(), "John Smith");
    assert_eq!(a.rows()[0].date, Some(DAY));
    // user1 (any case) already holds a token: skipped; user4 gets the next free one.
    let more = parse_users("u", "USER1@acme.com\nuser4@acme.com\n").unwrap();
    let r = a.apply(&more, DAY).unwrap();
    assert_eq!(r.skipped, vec!["USER1@acme.com".to_string()]);
    assert_eq!(
        r.assigned,
        vec![("user4@acme.com".into(), "10001004".into())]
    );
    assert_eq!(
        statuses(&a),
        vec![
            Status::New,
            Status::New,
            Status::New,
            Status::New,
            Status::Free
        ]
    );
}

#[test]
fn more_users_than_free_tokens_assigns_nothing() {
    let mut a = table(&read("tokens.csv"));
    let users = parse_users(
        "u",
        "a@acme.com\nb@acme.com\nc@acme.com\nd@acme.com\ne@acme.com\nf@acme.com\n",
    )
    .unwrap();
    let e = a.apply(&users, DAY).unwrap_err();
    assert_eq!(e, AssignError::NotEnoughTokens { users: 6, free: 5 });
    assert!(e
        .to_string()
        .contains("6 users need a token but only 5 tokens are free"));
    assert!(a.rows().iter().all(|r| r.upn.is_none()));
}

#[test]
fn entra_export_is_exact_bytes_crlf_no_bom() {
    let mut a = table(&read("tokens.csv"));
    let users = parse_users("u", "user1@acme.com,John Smith\nuser2@acme.com\n").unwrap();
    a.apply(&users, DAY).unwrap();
    let csv = export::entra_csv(&a).unwrap();
    let expected = "upn,serial number,secret key,time interval,manufacturer,model\r\n\
        user1@acme.com,10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\r\n\
        user2@acme.com,10001002,ZYXWVUTSRQPONMLKJIHGFEDCBA765432,60,Deepnet Security,SafeID/Classic\r\n";
    assert_eq!(csv.as_bytes(), expected.as_bytes());
    assert!(!csv.as_bytes().starts_with(&[0xef, 0xbb, 0xbf]));
    assert_eq!(export::entra_file_name(DAY), "EntraTokens_20260115.csv");
    assert_eq!(
        export::inventory_file_name(DAY),
        "CustomerTokens_20260115.csv"
    );
    let inv = export::inventory_csv(&a);
    let lines: Vec<&str> = inv.split("\r\n").collect();
    assert_eq!(lines[0], INV_HEADER);
    assert_eq!(
        lines[1],
        "user1@acme.com,John Smith,New,2026-01-15,10001001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic"
    );
    assert_eq!(
        lines[3],
        ",,Free,,10001003,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,60,Deepnet Security,SafeID/Classic"
    );
    assert_eq!(
        lines.len(),
        7,
        "header, 5 tokens, final empty piece after CRLF"
    );
}

#[test]
fn cli_process_writes_both_files() {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_seedport"))
        .args(["assign", "--tokens"])
        .arg(fixture("tokens.csv"))
        .arg("--users")
        .arg(fixture("users.txt"))
        .arg("--out")
        .arg(out.path())
        .args(["--date", "2026-01-15"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("assigned 3 token(s) now"), "{stdout}");
    assert!(!stdout.contains("234567ABCDEF"), "no secret on stdout");
    let entra = std::fs::read(out.path().join("EntraTokens_20260115.csv")).unwrap();
    let text = String::from_utf8(entra).unwrap();
    assert!(text.starts_with(&format!("{ENTRA_HEADER}\r\n")));
    assert_eq!(text.matches("\r\n").count(), 4);
    assert_eq!(text.matches('\n').count(), 4, "every line ends in CRLF");
    assert!(text.contains("\r\nuser3@acme.com,10001003,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,60,"));
    let inv = std::fs::read_to_string(out.path().join("CustomerTokens_20260115.csv")).unwrap();
    assert_eq!(inv.lines().count(), 6);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(out.path().join("EntraTokens_20260115.csv")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn cli_process_reports_bad_files_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "user1@acme.com\nnot-a-upn\nuser1@ACME.com\n").unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_seedport"))
        .args(["assign", "--tokens"])
        .arg(fixture("tokens.csv"))
        .arg("--users")
        .arg(&users)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("users.txt line 2: \"not-a-upn\" is not a UPN"),
        "{err}"
    );
    assert!(
        err.contains("users.txt line 3: user user1@ACME.com is listed twice (first on line 1)"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn rerun_with_inventory_keeps_old_rows_and_adds_new_ones() {
    let out = tempfile::tempdir().unwrap();
    let mut a1 = args(out.path());
    a1.tokens = Some(fixture("tokens.csv"));
    a1.users = Some(fixture("users.txt"));
    seedport::assign::run_on(&a1, DAY).unwrap();

    let out2 = tempfile::tempdir().unwrap();
    let mut a2 = args(out2.path());
    a2.inventory = Some(out.path().join("CustomerTokens_20260115.csv"));
    a2.tokens = Some(fixture("entra_bom.csv")); // two more tokens, BOM + CRLF + blank line
    a2.users = Some(fixture("users_more.txt")); // user1 again (skipped), user4, user5
    let s = seedport::assign::run_on(&a2, LATER).unwrap();
    assert_eq!(s.assigned_now, 2);
    assert_eq!(s.skipped, vec!["user1@acme.com".to_string()]);
    assert_eq!(s.in_entra_file, 5);
    assert_eq!(s.free, 2);

    let inv = std::fs::read_to_string(out2.path().join("CustomerTokens_20260201.csv")).unwrap();
    let rows: Vec<Vec<&str>> = inv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let view: Vec<(&str, &str, &str, &str)> =
        rows.iter().map(|r| (r[0], r[2], r[3], r[4])).collect();
    assert_eq!(
        view,
        vec![
            ("user1@acme.com", "Old", "2026-01-15", "10001001"),
            ("user2@acme.com", "Old", "2026-01-15", "10001002"),
            ("user3@acme.com", "Old", "2026-01-15", "10001003"),
            ("user4@acme.com", "New", "2026-02-01", "10001004"),
            ("user5@acme.com", "New", "2026-02-01", "10001005"),
            ("", "Free", "", "20002001"),
            ("", "Free", "", "20002002"),
        ]
    );
    assert_eq!(rows[4][1], "Jane Doe");
}

#[test]
fn unassign_by_inventory_status_by_flag_and_by_api() {
    let mut a = table(&read("tokens.csv"));
    a.apply(&parse_users("u", &read("users.txt")).unwrap(), DAY)
        .unwrap();
    let inv = export::inventory_csv(&a).to_string();

    // The customer sets user2's status to Unassigned by hand.
    let edited = inv.replace(
        "user2@acme.com,Joe Bloggs,New,",
        "user2@acme.com,Joe Bloggs,Unassigned,",
    );
    let (_, rows) = parse_token_file("CustomerTokens_20260115.csv", &edited).unwrap();
    let b = Assignments::new(rows).unwrap();
    assert_eq!(
        statuses(&b),
        vec![
            Status::Old,
            Status::Unassigned,
            Status::Old,
            Status::Free,
            Status::Free
        ]
    );
    assert!(!export::entra_csv(&b).unwrap().contains("user2@acme.com"));

    // The API: an Old assignment becomes Unassigned, a New one Free; the token is free again.
    let (_, rows) = parse_token_file("inv.csv", &inv).unwrap();
    let mut c = Assignments::new(rows).unwrap();
    c.unassign("10001003", LATER).unwrap();
    assert_eq!(c.rows()[2].status, Status::Unassigned);
    assert_eq!(c.rows()[2].date, Some(LATER));
    assert_eq!(
        c.unassign("10001003", LATER),
        Err(AssignError::NotAssigned("10001003".into()))
    );
    let r = c
        .apply(&parse_users("u", "user9@acme.com").unwrap(), LATER)
        .unwrap();
    assert_eq!(
        r.assigned,
        vec![("user9@acme.com".into(), "10001003".into())]
    );

    // The CLI flag.
    let dir = tempfile::tempdir().unwrap();
    let inv_path = dir.path().join("inv.csv");
    std::fs::write(&inv_path, &*inv).unwrap();
    let mut args = args(&dir.path().join("out"));
    args.inventory = Some(inv_path);
    args.unassign = vec!["10001001".into()];
    let s = seedport::assign::run_on(&args, LATER).unwrap();
    assert_eq!(s.in_entra_file, 2);
    let entra = std::fs::read_to_string(s.entra_file).unwrap();
    assert!(!entra.contains("user1@acme.com"));
}

#[test]
fn reassign_moves_or_swaps_users() {
    let mut a = table(&read("tokens.csv"));
    a.apply(&parse_users("u", "a@acme.com\nb@acme.com").unwrap(), DAY)
        .unwrap();
    a.reassign("10001001", "10001004", DAY).unwrap();
    assert_eq!(
        upns(&a),
        vec![
            None,
            Some("b@acme.com".into()),
            None,
            Some("a@acme.com".into()),
            None
        ]
    );
    assert_eq!(a.rows()[0].status, Status::Free);
    a.reassign("10001002", "10001004", DAY).unwrap();
    assert_eq!(a.rows()[1].upn.as_ref().unwrap().as_str(), "a@acme.com");
    assert_eq!(a.rows()[3].upn.as_ref().unwrap().as_str(), "b@acme.com");
    assert!(
        a.reassign("10001001", "10001002", DAY).is_err(),
        "free token has no user to move"
    );
}

#[test]
fn at_most_five_tokens_per_user() {
    let mut tokens = String::from("serial number,secret key,time interval,manufacturer,model\n");
    for i in 0..7 {
        tokens.push_str(&format!(
            "3000{i},JBSWY3DPEHPK3PX{},30,Deepnet Security,SafeID/Enterprise\n",
            (b'A' + i) as char
        ));
    }
    let mut a = table(&tokens);
    let upn = Upn::parse("many@acme.com").unwrap();
    for i in 0..5 {
        a.set_user(
            &format!("3000{i}"),
            upn.clone(),
            DisplayName::default(),
            DAY,
        )
        .unwrap();
    }
    let e = a
        .set_user("30005", upn.clone(), DisplayName::default(), DAY)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "user many@acme.com would hold 6 tokens; Entra allows at most 5 per user"
    );
    // An inventory that already breaks the limit is refused.
    let mut inv = String::from(INV_HEADER);
    inv.push('\n');
    for i in 0..6 {
        inv.push_str(&format!(
            "many@acme.com,,Old,2026-01-01,4000{i},JBSWY3DPEHPK3PX{},30,Deepnet Security,SafeID/Enterprise\n",
            (b'A' + i) as char
        ));
    }
    let (_, rows) = parse_token_file("inv.csv", &inv).unwrap();
    assert!(matches!(
        Assignments::new(rows),
        Err(AssignError::TooManyTokens { count: 6, .. })
    ));
}

#[test]
fn user_files_tolerate_bom_crlf_blank_lines_and_header() {
    let users = parse_users(
        "users.txt",
        "\u{feff}upn,display name\r\n\r\n user1@acme.com , John Smith \r\n  \r\nuser2@acme.com\r\n",
    )
    .unwrap();
    let v: Vec<(&str, &str, usize)> = users
        .iter()
        .map(|u| (u.upn.as_str(), u.display_name.as_str(), u.line))
        .collect();
    assert_eq!(
        v,
        vec![
            ("user1@acme.com", "John Smith", 3),
            ("user2@acme.com", "", 5)
        ]
    );
}

#[test]
fn bad_user_files_say_file_line_and_reason() {
    let e = parse_users(
        "users.txt",
        "user1@acme.com\nuser 2@acme.com\nuser3@acme\nUser1@Acme.com\nuser4@acme.com,Smith, John\nuser5@acme.com,=HYPERLINK()\n",
    )
    .unwrap_err();
    let msgs: Vec<String> = e.0.iter().map(|l| l.to_string()).collect();
    assert_eq!(msgs.len(), 5, "{msgs:#?}");
    assert!(msgs[0].starts_with("users.txt line 2: \"user 2@acme.com\": the character ' '"));
    assert!(
        msgs[1].starts_with("users.txt line 3: \"user3@acme\": the domain after @ is not valid")
    );
    assert_eq!(
        msgs[2],
        "users.txt line 4: user User1@Acme.com is listed twice (first on line 1)"
    );
    assert!(msgs[3].contains("line 5") && msgs[3].contains("may not contain a comma"));
    assert!(msgs[4].contains("line 6") && msgs[4].contains("may not start with = + - or @"));
}

#[test]
fn bad_token_files_say_file_line_and_reason_without_secrets() {
    let e = parse_token_file("x.csv", "serial,seed\n1,ABC\n").unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("x.csv line 1: unknown header; expected one of:"),
        "{m}"
    );
    assert!(m.contains(ENTRA_HEADER) && m.contains(INV_HEADER));
    assert!(m.contains("serial number,secret key,time interval,manufacturer,model"));

    let text = "serial number,secret key,time interval,manufacturer,model\r\n\
        10001001,3132333435363738393031323334353637383930,60,Deepnet Security,SafeID/Classic\r\n\
        10001002,ZYXWVUTSRQPONMLKJIHGFEDCBA765432,45,Deepnet Security,SafeID/Classic\r\n\
        10001003,ZYXWVUTSRQPONMLKJIHGFEDCBA765432,60,Deepnet Security\r\n\
        10001004,MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U,30,Deepnet Security,SafeID/Enterprise\r\n\
        10001004,MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U,30,Deepnet Security,SafeID/Enterprise\r\n\
        10001006,MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U,0,Deepnet Security,SafeID/Eco\r\n";
    let text = format!(
        "{text}10001007,{},30,Deepnet Security,SafeID/Pro\r\n",
        "A".repeat(136)
    );
    let e = parse_token_file("tokens.csv", &text).unwrap_err();
    let msgs: Vec<String> = e.0.iter().map(|l| l.to_string()).collect();
    assert_eq!(msgs.len(), 6, "{msgs:#?}");
    assert_eq!(msgs[0], "tokens.csv line 2: token 10001001: the secret key is not Base32 (only A-Z and 2-7; Entra cannot take hex secrets)");
    assert_eq!(msgs[1], "tokens.csv line 3: token 10001002: time interval \"45\" cannot go to Entra (only 30 or 60 seconds)");
    assert!(msgs[2].starts_with("tokens.csv line 4: expected 5 comma-separated values, found 4"));
    assert_eq!(
        msgs[3],
        "tokens.csv line 6: token 10001004 is listed twice (first on line 5)"
    );
    assert!(msgs[4].starts_with("tokens.csv line 7: token 10001006: time interval"));
    assert!(msgs[5].contains("line 8") && msgs[5].contains("longer than 128 characters"));
    let all = e.to_string();
    assert!(!all.contains("3132333435") && !all.contains("ZYXWVU") && !all.contains("MFRGG"));

    let e = parse_token_file(
        "t.csv",
        "serial number,secret key,time interval,manufacturer,model\n1,MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U,60,Deepnet Security,SafeID/Eco\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("event-based (HOTP)"));
    assert!(parse_token_file("t.csv", "\u{feff}\r\n\r\n")
        .unwrap_err()
        .to_string()
        .contains("the file is empty"));
    assert!(parse_token_file(
        "t.csv",
        "serial number,secret key,time interval,manufacturer,model\r\n"
    )
    .unwrap_err()
    .to_string()
    .contains("no tokens"));
}

#[test]
fn a_token_file_and_inventory_that_disagree_are_refused() {
    let mut a = table(&read("tokens.csv"));
    let other = "serial number,secret key,time interval,manufacturer,model\n10001001,MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U,60,Deepnet Security,SafeID/Classic\n";
    let (_, rows) = parse_token_file("other.csv", other).unwrap();
    let e = a.merge(rows).unwrap_err();
    assert_eq!(e, AssignError::Conflict("10001001".into()));
    assert!(!e.to_string().contains("MFRGG"));
    let (_, rows) = parse_token_file("same.csv", &read("tokens.csv")).unwrap();
    assert_eq!(a.merge(rows).unwrap(), 0);
}

/// The assignment tool's Entra upload and the delivered Entra MFA CSV share one layout: a file
/// written by the `entra-csv` format writer, assigned and exported, differs only in the `upn`
/// column.
#[test]
fn entra_export_matches_the_entra_format_writer_byte_for_byte() {
    use seedport::domain::{HashAlg, OtpKind, Serial, Token, TokenContext};
    use seedport::formats::{FormatId, FormatOptions};
    use seedport::vault::SecretBytes;
    let tokens: Vec<Token> = (0..3u8)
        .map(|i| Token {
            serial: Serial::parse(&format!("0010{i}")).unwrap(),
            secret: SecretBytes::new((0..20).map(|b| b * 3 + i).collect()),
            kind: OtpKind::Totp,
            hash: HashAlg::Sha1,
            digits: 6,
            time_step: 60,
            counter: 0,
            manufacturer: "Deepnet Security".into(),
            model: "SafeID/Classic".into(),
        })
        .collect();
    let mut rng = rand::rngs::OsRng;
    let mut writer = FormatId::EntraCsv
        .format()
        .open(&FormatOptions::default(), &mut rng)
        .unwrap();
    let mut delivered = Vec::new();
    writer.begin(&mut delivered).unwrap();
    for t in &tokens {
        writer
            .write_token(&mut delivered, t, &TokenContext::default())
            .unwrap();
    }
    writer.finish(&mut delivered).unwrap();
    let delivered = String::from_utf8(delivered).unwrap();

    let mut a = table(&delivered);
    let users = parse_users(
        "users.txt",
        "a@acme.example\nb@acme.example\nc@acme.example\n",
    )
    .unwrap();
    a.apply(&users, DAY).unwrap();
    let exported = export::entra_csv(&a).unwrap();

    let upns = ["a@acme.example", "b@acme.example", "c@acme.example"];
    let expected: String = delivered
        .split_inclusive("\r\n")
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.to_string()
            } else {
                format!("{}{line}", upns[i - 1])
            }
        })
        .collect();
    assert_eq!(exported.as_str(), expected);
}
