//! `docs/plugin-authoring.md` shows this crate in excerpts; each must be a verbatim part of the
//! file it names, so the guide cannot drift from code that builds and passes the contract.

use std::path::{Path, PathBuf};

/// One fenced block of the guide: its info string and its lines.
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The guide's fenced blocks (fences of three backticks at the start of a line).
fn blocks(markdown: &str) -> Vec<Block> {
    let fence = "`".repeat(3);
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        match (open.as_mut(), line.strip_prefix(fence.as_str())) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    text: String::new(),
                    line: number + 1,
                });
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "the guide ends inside a fenced block");
    blocks
}

/// The file a block says it comes from: `title="path"` in its info string.
fn title(info: &str) -> Option<&str> {
    let rest = &info[info.find("title=\"")? + "title=\"".len()..];
    Some(&rest[..rest.find('"')?])
}

#[test]
fn the_guide_parses_fences_and_titles() {
    let fence = "`".repeat(3);
    let markdown = format!(
        "text\n{fence}rust title=\"a/b.rs\"\nfn a() {{}}\n\n{fence}\n{fence}sh\nls\n{fence}\n"
    );
    let found = blocks(&markdown);
    assert_eq!(found.len(), 2);
    assert_eq!(title(&found[0].info), Some("a/b.rs"));
    assert_eq!(found[0].text, "fn a() {}\n\n");
    assert_eq!(found[0].line, 2);
    assert_eq!(title(&found[1].info), None);
}

#[test]
fn every_excerpt_in_the_guide_is_part_of_the_file_it_names() {
    let root = workspace_root();
    let guide = std::fs::read_to_string(root.join("docs/plugin-authoring.md")).unwrap();
    let mut shown = Vec::new();
    for block in blocks(&guide) {
        let Some(path) = title(&block.info) else {
            assert!(
                !block.info.starts_with("rust") && !block.info.starts_with("json"),
                "docs/plugin-authoring.md:{}: a Rust or JSON block without title=\"<file>\"",
                block.line
            );
            continue;
        };
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("docs/plugin-authoring.md:{}: {path}: {e}", block.line));
        assert!(
            file.contains(&block.text),
            "docs/plugin-authoring.md:{}: this excerpt is not part of {path}:\n{}",
            block.line,
            block.text
        );
        shown.push(path.to_owned());
    }
    for file in [
        "examples/acme/Cargo.toml",
        "examples/acme/manifest.json",
        "examples/acme/src/lib.rs",
        "examples/acme/src/fixtures.rs",
        "examples/acme/src/checked_key.rs",
        "examples/acme/tests/contract.rs",
    ] {
        assert!(
            shown.iter().any(|s| s == file),
            "the guide shows no excerpt of {file}"
        );
    }
}
