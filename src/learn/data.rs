//! Labelled tickets from an export: CSV with a header row, or JSON Lines (`.jsonl`,
//! `.ndjson`), the text joined from one or more columns.

use std::path::Path;

/// One input row: its text, and its label when the file has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub text: String,
    pub label: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("reading {path}: {why}")]
    Read { path: String, why: String },
    #[error("{path} has no column '{column}'; its columns: {available}")]
    NoColumn {
        path: String,
        column: String,
        available: String,
    },
    #[error("{path}, line {line}: {why}")]
    Line {
        path: String,
        line: usize,
        why: String,
    },
}

/// Reads every row of `path`: the `text` columns joined by a blank line, and `label`.
pub fn read(path: &Path, text: &[String], label: Option<&str>) -> Result<Vec<Row>, DataError> {
    let name = path.display().to_string();
    let read_error = |why: String| DataError::Read {
        path: name.clone(),
        why,
    };
    let json_lines = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "ndjson")
    );
    if json_lines {
        let content = std::fs::read_to_string(path).map_err(|e| read_error(e.to_string()))?;
        return content
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| json_row(&name, index + 1, line, text, label))
            .collect();
    }
    let mut reader = csv::Reader::from_path(path).map_err(|e| read_error(e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| read_error(e.to_string()))?
        .clone();
    let column = |wanted: &str| {
        headers
            .iter()
            .position(|h| h.trim() == wanted)
            .ok_or_else(|| DataError::NoColumn {
                path: name.clone(),
                column: wanted.into(),
                available: headers.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let text_columns = text
        .iter()
        .map(|c| column(c))
        .collect::<Result<Vec<_>, _>>()?;
    let label_column = label.map(column).transpose()?;
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| DataError::Line {
            path: name.clone(),
            line: index + 2,
            why: e.to_string(),
        })?;
        let text = text_columns
            .iter()
            .filter_map(|c| record.get(*c))
            .collect::<Vec<_>>()
            .join("\n\n");
        let label = label_column
            .and_then(|c| record.get(c))
            .map(|l| l.trim().to_string());
        rows.push(Row { text, label });
    }
    Ok(rows)
}

fn json_row(
    path: &str,
    line: usize,
    content: &str,
    text: &[String],
    label: Option<&str>,
) -> Result<Row, DataError> {
    let error = |why: String| DataError::Line {
        path: path.into(),
        line,
        why,
    };
    let value: serde_json::Value =
        serde_json::from_str(content).map_err(|e| error(e.to_string()))?;
    let field = |key: &str| match &value[key] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    };
    let parts: Vec<String> = text.iter().filter_map(|c| field(c)).collect();
    if parts.is_empty() {
        return Err(error(format!(
            "none of the text fields ({}) is there",
            text.join(", ")
        )));
    }
    Ok(Row {
        text: parts.join("\n\n"),
        label: label.and_then(field).map(|l| l.trim().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_lines_give_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(
            &csv,
            "Subject,Body,Topic\nToner,\"out, again\",Hardware\nVPN,down,\n",
        )
        .unwrap();
        let jsonl = dir.path().join("t.jsonl");
        std::fs::write(
            &jsonl,
            "{\"Subject\":\"Toner\",\"Body\":\"out, again\",\"Topic\":\"Hardware\"}\n{\"Subject\":\"VPN\",\"Body\":\"down\",\"Topic\":\"\"}\n",
        )
        .unwrap();
        let columns = ["Subject".to_string(), "Body".to_string()];
        let from_csv = read(&csv, &columns, Some("Topic")).unwrap();
        assert_eq!(from_csv, read(&jsonl, &columns, Some("Topic")).unwrap());
        assert_eq!(from_csv[0].text, "Toner\n\nout, again");
        assert_eq!(from_csv[0].label.as_deref(), Some("Hardware"));
        let missing = read(&csv, &columns, Some("Label")).unwrap_err().to_string();
        assert!(
            missing.contains("no column 'Label'; its columns: Subject, Body, Topic"),
            "{missing}"
        );
        std::fs::write(&jsonl, "{\"Subject\":\"Toner\"}\n{not json\n").unwrap();
        let broken = read(&jsonl, &columns, Some("Topic"))
            .unwrap_err()
            .to_string();
        assert!(broken.contains("t.jsonl, line 2: "), "{broken}");
        std::fs::write(&jsonl, "{\"Other\":\"x\"}\n").unwrap();
        let empty = read(&jsonl, &columns, Some("Topic"))
            .unwrap_err()
            .to_string();
        assert!(
            empty.contains("line 1: none of the text fields (Subject, Body) is there"),
            "{empty}"
        );
    }
}
