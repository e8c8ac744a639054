//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz): every place
//! where bytes from outside the process reach the engine. Each function
//! takes arbitrary bytes and must return without panicking, hanging or
//! allocating without bound; the invariants it checks (an error names its
//! position, say) panic when broken, so the fuzzer reports them.
//!
//! Not an API: hidden from the docs, and only the fuzz targets, and the
//! regression tests of what they found, call it.

use std::io::Cursor;
use std::sync::Arc;

use mysql_common::binlog::EventStreamReader;
use mysql_common::binlog::consts::BinlogVersion;

use crate::change::{Op, RowChange, TableChanges, TableSchema, Value};
use crate::plugin::bindings::{AddColumn, Edit, ExtraRows, Image, RenameColumn, SetCells};
use crate::source::{Assembler, Collations, SourceError};

/// Bytes read off the front of the fuzz input, zero when it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to 255 bytes: a length byte, then the bytes.
    fn bytes(&mut self) -> Vec<u8> {
        let n = usize::from(self.u8()).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b.to_vec()
    }

    fn string(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

/// The binlog event assembler and row decoder, fed a stream of events as
/// the server sends them (each with its 19-byte header; a format
/// description event among them changes how the rest are read, as on the
/// wire). Every definite error must name its binlog position.
pub fn binlog(data: &[u8]) {
    let collations = Collations::new([
        (8, "latin1".to_owned()),
        (33, "utf8mb3".to_owned()),
        (45, "utf8mb4".to_owned()),
        (63, "binary".to_owned()),
    ]);
    let mut assembler = Assembler::new(Arc::new(collations));
    // Name the file first, as every real stream does.
    let mut rotate = 4u64.to_le_bytes().to_vec();
    rotate.extend(b"binlog.000001");
    let mut header = Vec::with_capacity(19 + rotate.len());
    header.extend(0u32.to_le_bytes());
    header.push(4);
    header.extend(1u32.to_le_bytes());
    header.extend(((19 + rotate.len()) as u32).to_le_bytes());
    header.extend(0u32.to_le_bytes());
    header.extend(0x20u16.to_le_bytes()); // LOG_EVENT_ARTIFICIAL_F
    header.extend(&rotate);
    let mut stream = EventStreamReader::new(BinlogVersion::Version4);
    let rotate = stream
        .read(Cursor::new(&header))
        .expect("a valid rotate event")
        .expect("one event");
    assembler.handle(rotate).expect("a rotate names the file");
    let mut input = Cursor::new(data);
    loop {
        // A stream error is a disconnect on the wire: the reader reconnects.
        // The parser panics on some malformed events; the reader catches
        // that (`BinlogReader::next_transaction`), and so does this.
        let result = match quietly(|| stream.read(&mut input)) {
            Ok(Ok(Some(event))) => match quietly(|| assembler.handle(event)) {
                Ok(r) => r,
                // Only a panic the engine does not catch itself escapes.
                Err(p) => panic!(
                    "the assembler panicked at {}: {}",
                    PANICKED_AT.with(|a| a.borrow().clone()),
                    message(&*p)
                ),
            },
            Ok(_) => return,
            Err(panic) => Err(assembler.unparsable(panic)),
        };
        match result {
            Ok(_)
            | Err(
                SourceError::Disconnected(_) | SourceError::BinlogGone(_) | SourceError::Moved(_),
            ) => {}
            Err(SourceError::Definite {
                position: Some(_), ..
            }) => return,
            Err(SourceError::Definite {
                position: None,
                message,
            }) => panic!("a binlog error without its position: {message}"),
        }
    }
}

/// Run `f`, catching a panic. libFuzzer's panic hook aborts even on a
/// panic that is caught, which would report the engine's own deliberate
/// catches (around `mysql_common`) as crashes, so the hook is silenced
/// meanwhile; a panic that escapes is raised again, loudly, by the caller.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let hook = std::panic::take_hook();
    // Keep where it panicked, for the loud report.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
        PANICKED_AT.with(|p| *p.borrow_mut() = at);
    }));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r
}

thread_local! {
    static PANICKED_AT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// A batch of three rows (insert, update, delete) of a table with a key,
/// for the plugin-output targets.
fn batch() -> TableChanges {
    let image = |id: i64, name: &str| {
        Some(vec![
            Value::Int(id),
            Value::Text(name.to_owned()),
            Value::Decimal("12.50".to_owned()),
            Value::Bytes(vec![0, 1, 2]),
        ])
    };
    TableChanges {
        schema: Arc::new(TableSchema {
            database: "shop".to_owned(),
            table: "product".to_owned(),
            columns: ["id", "name", "price", "blob"].map(str::to_owned).to_vec(),
            key: vec![0],
            target_table: None,
        }),
        rows: vec![
            RowChange {
                op: Op::Insert,
                before: None,
                after: image(1, "a"),
            },
            RowChange {
                op: Op::Update,
                before: image(2, "b"),
                after: image(2, "c"),
            },
            RowChange {
                op: Op::Delete,
                before: image(3, "d"),
                after: None,
            },
        ],
    }
}

fn image(b: u8) -> Image {
    if b & 1 == 0 {
        Image::Before
    } else {
        Image::After
    }
}

/// A mapper's output as a malicious plugin could return it: arbitrary
/// edits with arbitrary indexes and cell bytes, applied to a real batch.
/// The host must answer with an error (a plugin fault), never a panic, and
/// what it returns must be well formed.
pub fn edits(data: &[u8]) {
    let mut input = Input(data);
    let mut edits = Vec::new();
    while !input.0.is_empty() && edits.len() < 64 {
        let tag = input.u8();
        edits.push(match tag % 7 {
            0 => Edit::SetCells(SetCells {
                column: input.u32() % 8,
                image: image(input.u8()),
                cells: input.bytes(),
            }),
            1 => Edit::RenameColumn(RenameColumn {
                column: input.u32() % 8,
                name: input.string(),
            }),
            2 => Edit::DropColumn(input.u32() % 8),
            3 => Edit::AddColumn(AddColumn {
                name: input.string(),
                before: input.bytes(),
                after: input.bytes(),
            }),
            4 => Edit::DropRow(input.u32() % 8),
            5 => Edit::EmitRows(ExtraRows {
                table: input.string(),
                columns: (0..input.u8() % 4).map(|_| input.string()).collect(),
                key: (0..input.u8() % 3).map(|_| input.string()).collect(),
                ops: input.bytes(),
                before: input.bytes(),
                after: input.bytes(),
            }),
            _ => Edit::SetTargetTable(input.string()),
        });
    }
    if let Ok(mapped) = crate::plugin::edits::apply(batch(), edits) {
        for b in std::iter::once(&mapped.batch).chain(&mapped.extra) {
            let width = b.schema.columns.len();
            for row in &b.rows {
                for img in [&row.before, &row.after].into_iter().flatten() {
                    assert_eq!(img.len(), width, "a row image as wide as its schema");
                }
            }
            assert!(b.schema.key.iter().all(|&k| k < width), "key in range");
        }
    }
}

/// The typed reads a plugin makes of a batch (`get`, `get-column`,
/// `column-bytes`), with arbitrary row and column indexes: out of range is
/// an error for the plugin, never a panic in the host.
pub fn host_reads(data: &[u8]) {
    crate::plugin::host::fuzz_reads(batch(), data);
}

/// The config walker: any text is a config or a list of errors.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("/nonexistent/sluice.toml");
    if let Err(errors) = crate::config::Config::parse(path, text) {
        assert!(!errors.to_string().is_empty(), "an error says something");
    }
}

/// One HTTP connection carrying arbitrary bytes, then closed by the
/// client: answered or closed, never a panic.
pub fn http(data: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
    }
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let (control, _rx) = tokio::sync::mpsc::unbounded_channel();
            let api = Arc::new(crate::http::Api {
                handle: metrics_exporter_prometheus::PrometheusBuilder::new()
                    .build_recorder()
                    .handle(),
                status: Arc::new(crate::status::Status::default()),
                admin_token: Some("token".to_owned()),
                control,
            });
            let (client, server) = tokio::io::duplex(64 * 1024);
            let served = tokio::spawn(crate::http::serve_connection(server, api));
            let (mut rx, mut tx) = tokio::io::split(client);
            let send = async {
                let _ = tx.write_all(data).await;
                let _ = tx.shutdown().await;
            };
            let mut out = Vec::new();
            let (_, _) = tokio::join!(send, rx.read_to_end(&mut out));
            served.await.expect("the connection task does not panic");
        });
    });
}

/// A line of `sluice plugin test` input (JSONL): a row change or an error.
pub fn jsonl(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Ok((schema, row)) = crate::plugin::sample::parse(line) {
            let width = schema.columns.len();
            for img in [&row.before, &row.after].into_iter().flatten() {
                assert_eq!(img.len(), width);
            }
            assert!(schema.key.iter().all(|&k| k < width));
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every input a fuzz target ever crashed on (fuzz/regressions/TARGET)
    /// runs through its target again.
    #[test]
    fn crashes_found_by_fuzzing_stay_fixed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 6] = [
            ("binlog", super::binlog),
            ("edits", super::edits),
            ("host_reads", super::host_reads),
            ("config", super::config),
            ("http", super::http),
            ("jsonl", super::jsonl),
        ];
        let mut ran = 0;
        for (name, target) in targets {
            let Ok(dir) = std::fs::read_dir(root.join(name)) else {
                continue;
            };
            for file in dir {
                let path = file.unwrap().path();
                target(&std::fs::read(&path).unwrap());
                ran += 1;
            }
        }
        assert!(ran > 0, "the regression inputs are in {}", root.display());
    }
}
