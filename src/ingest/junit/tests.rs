//! Unit tests of the JUnit reader on small inline documents (real tool output is
//! tested through the binary with the fixtures in tests/fixtures).

use super::capped::{Capped, ISSUE_HEAD, ISSUE_TAIL};
use super::state::{parse_time, MAX_DEPTH};
use super::*;

fn parse(xml: &str) -> Result<JunitFile, JunitError> {
    parse_bytes(xml.as_bytes(), Path::new("r.xml"))
}

fn ok(xml: &str) -> JunitFile {
    parse(xml).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn bare_testsuite_root_and_statuses() {
    let f = ok(
        r#"<testsuite name="s"><testcase classname="c" name="a" time="0.5"/>
        <testcase name="b"><failure message="m">trace</failure></testcase>
        <testcase name="c"><error message="e"/></testcase>
        <testcase name="d"><skipped/></testcase></testsuite>"#,
    );
    let st: Vec<_> = f.cases.iter().map(TestCase::status).collect();
    assert_eq!(
        st,
        [
            TestStatus::Passed,
            TestStatus::Failed,
            TestStatus::Errored,
            TestStatus::Skipped
        ]
    );
    assert_eq!(f.cases[0].time, Some(0.5));
    assert_eq!(f.cases[1].issues[0].text, "trace");
    assert_eq!(f.cases[1].suite[..], ["s"]);
}

#[test]
fn nested_suites_give_a_path() {
    let f = ok(
        r#"<testsuites><testsuite name="outer"><testsuite name="inner">
        <testcase name="x"/></testsuite><testcase name="y"/></testsuite></testsuites>"#,
    );
    assert_eq!(f.cases[0].suite[..], ["outer", "inner"]);
    assert_eq!(f.cases[1].suite[..], ["outer"]);
}

#[test]
fn entities_in_text_and_attributes_are_decoded() {
    let f = ok(
        r#"<testsuite><testcase name="a&amp;b &lt;c&gt;"><failure message="x&#10;y &quot;q&quot;">&lt;script&gt; &#x41;&apos;<![CDATA[<raw>]]></failure></testcase></testsuite>"#,
    );
    let c = &f.cases[0];
    assert_eq!(c.name, "a&b <c>");
    assert_eq!(c.issues[0].message.as_deref(), Some("x\ny \"q\""));
    assert_eq!(c.issues[0].text, "<script> A'<raw>");
}

#[test]
fn retries_system_out_and_properties() {
    let f = ok(
        r#"<testsuites name="nextest-run"><testsuite name="k"><properties><property name="package" value="p"/></properties>
      <testcase name="t"><flakyFailure message="first">boom<system-out>retry out</system-out></flakyFailure>
        <properties><property name="sdr" value="42"/></properties>
        <system-out>final out</system-out><system-err>err</system-err></testcase></testsuite></testsuites>"#,
    );
    let c = &f.cases[0];
    assert_eq!(f.producer, Producer::Nextest);
    assert_eq!(c.status(), TestStatus::Passed);
    assert_eq!(c.flaky_attempts(), 1);
    assert_eq!(c.issues[0].text, "boom");
    assert_eq!(c.system_out, "final out");
    assert_eq!(c.system_err, "err");
    assert_eq!(c.properties, [("sdr".to_string(), "42".to_string())]);
    assert_eq!(f.properties, [("package".to_string(), "p".to_string())]);
}

#[test]
fn several_failures_under_one_case_are_kept() {
    let f = ok(
        r#"<testsuite name="pytest"><testcase name="sub"><failure message="one"/><failure message="two"/></testcase></testsuite>"#,
    );
    assert_eq!(f.producer, Producer::Pytest);
    assert_eq!(f.cases[0].issues.len(), 2);
}

#[test]
fn truncated_file_names_position_and_open_element() {
    let xml = "<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"a\">\n<failure message=\"m\">partial";
    let err = parse(xml).err().map(|e| e.to_string()).unwrap();
    assert!(err.starts_with("r.xml:4:"), "{err}");
    assert!(err.contains("ends inside <failure/error/skipped>"), "{err}");
    let err = parse("<testsuites><testsuite name=\"s")
        .err()
        .map(|e| e.to_string())
        .unwrap();
    assert!(err.starts_with("r.xml:1:"), "{err}");
}

#[test]
fn non_junit_and_empty_inputs_are_errors() {
    let e = parse("<html><body/></html>")
        .err()
        .map(|e| e.to_string())
        .unwrap();
    assert!(e.contains("root element is <html>"), "{e}");
    let e = parse("").err().map(|e| e.to_string()).unwrap();
    assert!(e.contains("no XML element"), "{e}");
    let e = parse("{\"not\": \"xml\"}")
        .err()
        .map(|e| e.to_string())
        .unwrap();
    assert!(e.starts_with("r.xml:"), "{e}");
    let e = parse("<testsuite><testcase></testsuite>")
        .err()
        .map(|e| e.to_string())
        .unwrap();
    assert!(e.starts_with("r.xml:1:"), "{e}");
}

#[test]
fn swift_times_and_odd_values_parse() {
    assert_eq!(parse_time("1.2e-05"), Some(1.2e-05));
    assert_eq!(parse_time(" 1,234.5 "), Some(1234.5));
    assert_eq!(parse_time("NaN"), None);
    assert_eq!(parse_time("-1"), None);
}

#[test]
fn huge_text_is_capped_keeping_head_and_tail() {
    let big = format!("HEAD{}TAIL", "x".repeat(1_000_000));
    let xml =
        format!("<testsuite><testcase name=\"a\"><failure>{big}</failure></testcase></testsuite>");
    let f = ok(&xml);
    let t = &f.cases[0].issues[0].text;
    assert!(t.len() < ISSUE_HEAD + ISSUE_TAIL + 100, "{}", t.len());
    assert!(t.starts_with("HEAD") && t.ends_with("TAIL"));
    assert!(t.contains("bytes cut"));
}

#[test]
fn capped_keeps_char_boundaries() {
    let mut c = Capped::new(5, 4);
    for _ in 0..100 {
        c.push("é€");
    }
    let s = c.finish();
    assert!(s.starts_with("é€"));
    assert!(s.contains("bytes cut"));
}

#[test]
fn a_case_nested_in_a_case_is_read_not_dropped() {
    let f = ok(r#"<testsuite name="s"><testcase name="outer">
        <testcase name="inner"><failure message="boom"/></testcase>
        <testsuite name="deeper"><testcase name="innermost"><error/></testcase></testsuite>
        </testcase></testsuite>"#);
    let got: Vec<_> = f
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.status()))
        .collect();
    assert_eq!(
        got,
        [
            ("inner", TestStatus::Failed),
            ("innermost", TestStatus::Errored),
            ("outer", TestStatus::Passed)
        ]
    );
    assert_eq!(f.cases[1].suite[..], ["s", "deeper"]);
}

#[test]
fn a_failure_wrapped_in_another_element_still_fails_the_case() {
    let f = ok(
        r#"<testsuite><testcase name="a"><wrap><failure message="m">t</failure></wrap></testcase></testsuite>"#,
    );
    assert_eq!(f.cases[0].status(), TestStatus::Failed);
    assert_eq!(f.cases[0].issues[0].text, "t");
}

#[test]
fn nesting_past_the_limit_is_an_error_naming_the_limit() {
    let xml = format!(
        "<testsuite>{}{}</testsuite>",
        "<a>".repeat(MAX_DEPTH + 5),
        "</a>".repeat(MAX_DEPTH + 5)
    );
    let e = parse(&xml).err().map(|e| e.to_string()).unwrap();
    assert!(e.contains("nest more than 256 levels"), "{e}");
    assert!(e.starts_with("r.xml:1:"), "{e}");
}

#[test]
fn duplicate_suite_properties_are_kept_once_and_attributes_first_wins() {
    let mut xml = String::from("<testsuite><properties>");
    for i in 0..3 {
        xml.push_str(&format!(
            r#"<property name="p{i}" value="v"/><property name="p{i}" value="v"/>"#
        ));
    }
    xml.push_str(
        r#"</properties><testcase name="first" name="second" x1="1" x2="2"/></testsuite>"#,
    );
    let f = ok(&xml);
    assert_eq!(f.properties.len(), 3);
    assert_eq!(f.cases[0].name, "first");
}

#[test]
fn huge_names_and_messages_are_capped() {
    let name = "n".repeat(100_000);
    let xml = format!(
        r#"<testsuite><testcase name="{name}"><failure message="{name}"/></testcase></testsuite>"#
    );
    let f = ok(&xml);
    assert!(f.cases[0].name.len() < 5_000, "{}", f.cases[0].name.len());
    assert!(f.cases[0].name.ends_with("bytes cut]"));
    let m = f.cases[0].issues[0].message.as_deref().unwrap();
    assert!(m.len() < ISSUE_HEAD + 100, "{}", m.len());
}
