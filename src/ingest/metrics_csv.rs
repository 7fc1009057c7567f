//! A port's `metrics.csv` (`stem,sdr,sir,sar`, as its `compute_metrics.py` writes it):
//! per-stem figures the port already computed, read as RFC 4180 CSV (quoted fields may
//! hold commas, doubled quotes and line breaks). Anything malformed is an error naming
//! the file and the line where the record starts.

use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::Path;

use crate::fs::clip;

/// One stem's figures; `None` where the cell was empty (not measured).
#[derive(Debug, Clone, PartialEq)]
pub struct StemMetrics {
    pub stem: String,
    /// 1-based line where the record starts.
    pub line: usize,
    pub sdr_db: Option<f64>,
    pub sir_db: Option<f64>,
    pub sar_db: Option<f64>,
}

/// Reads a metrics file.
pub fn read_file(path: &Path) -> Result<Vec<StemMetrics>> {
    let text = crate::fs::read_text(path, "the metrics CSV")?;
    parse(&text, &path.display().to_string())
}

/// One record and the line it starts on.
type Record = (usize, Vec<String>);

/// Splits CSV text into records. `origin` names the text in messages.
fn records(text: &str, origin: &str) -> Result<Vec<Record>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut line, mut start, mut quote_line) = (1usize, 1usize, 0usize);
    let mut in_quotes = false;
    let mut was_quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => {
                in_quotes = true;
                was_quoted = true;
                quote_line = line;
            }
            '"' => bail!(
                "{origin}:{line}: a quote inside an unquoted field; quote the whole field and double the quote (\"a \"\"b\"\"\")"
            ),
            ',' => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
                out.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
            }
            _ if was_quoted => bail!(
                "{origin}:{line}: text after the closing quote of a field; put a comma after the quote"
            ),
            _ => field.push(c),
        }
    }
    if in_quotes {
        bail!("{origin}:{quote_line}: a quoted field is never closed (a missing \")");
    }
    if !field.is_empty() || !fields.is_empty() || was_quoted {
        fields.push(field);
        out.push((start, fields));
    }
    // Blank lines carry nothing.
    out.retain(|(_, f)| !(f.len() == 1 && f[0].trim().is_empty()));
    Ok(out)
}

/// A number cell: empty is `None` (not measured); `nan`/`inf` are kept (and judged).
fn number(cell: &str, origin: &str, line: usize, column: &str) -> Result<Option<f64>> {
    let t = cell.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) => Ok(Some(v)),
        Err(_) => bail!(
            "{origin}:{line}: column {column} holds {:?}, not a number of dB (leave it empty when not measured)",
            clip(t, 60)
        ),
    }
}

/// Parses the text of a metrics file. `origin` names it in messages.
pub fn parse(text: &str, origin: &str) -> Result<Vec<StemMetrics>> {
    let mut recs = records(text, origin)?.into_iter();
    let Some((hline, header)) = recs.next() else {
        bail!("{origin}: empty; expected a header `stem,sdr,sir,sar` and one line per stem");
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(stem_col), Some(sdr_col)) = (col("stem"), col("sdr")) else {
        bail!(
            "{origin}:{hline}: the header must name the columns `stem` and `sdr` (and may name `sir`, `sar`), found {:?}",
            clip(&header.join(","), 120)
        );
    };
    let (sir_col, sar_col) = (col("sir"), col("sar"));
    let mut out: Vec<StemMetrics> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, fields) in recs {
        if fields.len() != header.len() {
            bail!(
                "{origin}:{line}: {} fields where the header has {}; quote a field that holds a comma",
                fields.len(),
                header.len()
            );
        }
        let stem = fields[stem_col].trim().to_string();
        if stem.is_empty() {
            bail!("{origin}:{line}: the stem name is empty");
        }
        if let Some(first) = seen.insert(stem.clone(), line) {
            bail!(
                "{origin}:{line}: stem {:?} is listed again (first on line {first}); keep one line per stem",
                clip(&stem, 60)
            );
        }
        let cell = |c: Option<usize>, name| match c {
            Some(i) => number(&fields[i], origin, line, name),
            None => Ok(None),
        };
        out.push(StemMetrics {
            sdr_db: cell(Some(sdr_col), "sdr")?,
            sir_db: cell(sir_col, "sir")?,
            sar_db: cell(sar_col, "sar")?,
            stem,
            line,
        });
    }
    if out.is_empty() {
        bail!("{origin}: only a header; expected one line per stem");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "m.csv")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_else(|| panic!("{text:?} accepted"))
    }

    #[test]
    fn reads_the_port_format_with_quotes_and_blanks() {
        let m = parse(
            "stem,sdr,sir,sar\r\ndrums,12.5,20,13.1\n\"a, \"\"b\"\"\nc\",nan,,-inf\n\nbass,,1,2\n",
            "m.csv",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].sdr_db, Some(12.5));
        assert_eq!(m[1].stem, "a, \"b\"\nc");
        assert_eq!(m[1].line, 3);
        assert!(m[1].sdr_db.is_some_and(f64::is_nan));
        assert_eq!(m[1].sir_db, None);
        assert_eq!(m[1].sar_db, Some(f64::NEG_INFINITY));
        assert_eq!(m[2].line, 6);
        assert_eq!(m[2].sdr_db, None);
    }

    #[test]
    fn bad_files_name_the_line() {
        assert!(err("stem,sdr\ndrums,loud\n").contains("m.csv:2: column sdr"));
        assert!(err("stem,sdr\ndrums,1,2\n").contains("m.csv:2: 3 fields"));
        assert!(err("stem,sdr\n\"drums,1\n").contains("m.csv:2: a quoted field"));
        assert!(err("name,score\nx,1\n").contains("m.csv:1: the header"));
        assert!(err("stem,sdr\nx,1\nx,2\n").contains("first on line 2"));
        assert!(err("stem,sdr\n").contains("only a header"));
        assert!(err("").contains("empty"));
        assert!(err("stem,sdr\nx\"y,1\n").contains("m.csv:2: a quote"));
    }
}
