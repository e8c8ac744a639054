//! Plugin ABI benchmark: ns per row for the example plugins, called through
//! the real host (wasmtime, the batch resource, the cell encoding, the SDK)
//! against the same logic written in native Rust, in the same run.
//!
//! Workload: batches of 1000 update rows (both images) of a 10-column
//! product row. Run with `scripts/bench`; it prints a Markdown table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::change::{Op, RowChange, TableChanges, TableSchema, Value};
use sluice::plugin::edits::{self, Mapped};
use sluice::plugin::{Instance, Limits, PluginKind, Registry, Runtime};
use sluice_cell::{Date, DateTime};

/// The allocator the `sluice` binary uses, so the host's side of a call
/// (decoding edits, replacing cells) costs what it costs in production.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 1000;

fn batch() -> TableChanges {
    let columns = [
        "id",
        "sku",
        "name",
        "status",
        "cost_price",
        "price",
        "category_id",
        "weight_g",
        "created_at",
        "updated_at",
    ];
    let row = |i: usize, price: &str| -> Vec<Value> {
        vec![
            Value::Int(i as i64),
            Value::Text(format!("SKU-{i:08}")),
            Value::Text(format!("Product number {i}")),
            Value::Text(
                if i.is_multiple_of(10) {
                    "discontinued"
                } else {
                    "active"
                }
                .into(),
            ),
            Value::Decimal("12.34".into()),
            Value::Decimal(price.into()),
            Value::Int((i % 50) as i64),
            Value::Int(250),
            Value::DateTime(DateTime {
                date: Date {
                    year: 2024,
                    month: 1,
                    day: 2,
                },
                hour: 3,
                minute: 4,
                second: 5,
                micros: 6,
            }),
            Value::DateTime(DateTime {
                date: Date {
                    year: 2024,
                    month: 6,
                    day: 7,
                },
                hour: 8,
                minute: 9,
                second: 10,
                micros: 11,
            }),
        ]
    };
    TableChanges {
        schema: Arc::new(TableSchema {
            database: "product".into(),
            table: "product".into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            key: vec![0],
            target_table: None,
        }),
        rows: (0..ROWS)
            .map(|i| RowChange {
                op: Op::Update,
                before: Some(row(i, "19.99")),
                after: Some(row(i, "21.99")),
            })
            .collect(),
    }
}

/// How long one side took, in ns per row.
struct Timing {
    /// Median over every call.
    median: f64,
    /// The lowest median of the blocks the calls were made in: the figure
    /// for a quiet machine (this 2-core VM's speed changes by up to 2x
    /// from one second to the next, see docs/benchmarks.md).
    best_block: f64,
}

/// Time `wasm` and `native` alternately, call by call, so that both see
/// the same machine. Each call gets its own copy of `base`, made before
/// the clock starts, and what it returns is dropped after the clock
/// stops: only the call itself is timed. `rounds` calls each, in 10
/// blocks.
fn compare<A, B>(
    rounds: usize,
    base: &TableChanges,
    mut wasm: impl FnMut(TableChanges) -> A,
    mut native: impl FnMut(TableChanges) -> B,
) -> (Timing, Timing) {
    fn once<R>(base: &TableChanges, f: &mut impl FnMut(TableChanges) -> R) -> Duration {
        let input = base.clone();
        let t = Instant::now();
        let out = std::hint::black_box(f(input));
        let took = t.elapsed();
        drop(out);
        took
    }
    for _ in 0..rounds / 10 + 1 {
        once(base, &mut wasm);
        once(base, &mut native);
    }
    let per_block = (rounds / 10).max(1);
    let (mut w, mut n) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let mut block = (Vec::new(), Vec::new());
        for _ in 0..per_block {
            block.0.push(once(base, &mut wasm));
            block.1.push(once(base, &mut native));
        }
        w.push(block.0);
        n.push(block.1);
    }
    (timing(w), timing(n))
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_nanos() as f64 / ROWS as f64
}

fn timing(blocks: Vec<Vec<Duration>>) -> Timing {
    let best_block = blocks
        .iter()
        .map(|b| median(b.clone()))
        .fold(f64::INFINITY, f64::min);
    Timing {
        median: median(blocks.into_iter().flatten().collect()),
        best_block,
    }
}

/// One row of the table.
fn report(name: &str, (wasm, native): (Timing, Timing)) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1}x |",
        wasm.median,
        wasm.best_block,
        native.median,
        native.best_block,
        wasm.median / native.median.max(0.01)
    );
}

fn native_filter(b: &TableChanges) -> Vec<bool> {
    let status = b.schema.columns.iter().position(|c| c == "status");
    b.rows
        .iter()
        .map(|r| match (status, r.current()) {
            (Some(s), Some(img)) => !matches!(&img[s], Value::Text(t) if t == "discontinued"),
            _ => true,
        })
        .collect()
}

fn native_mapper(mut b: TableChanges) -> TableChanges {
    let mut schema = (*b.schema).clone();
    if let Some(c) = schema.columns.iter().position(|c| c == "cost_price") {
        schema.columns.remove(c);
        for r in &mut b.rows {
            for img in [&mut r.before, &mut r.after].into_iter().flatten() {
                img.remove(c);
            }
        }
    }
    if let Some(c) = schema.columns.iter().position(|c| c == "name") {
        schema.columns[c] = "product_name".into();
    }
    b.schema = Arc::new(schema);
    b
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/plugins".into()),
    );
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(300);
    let wanted = [
        ("active_only", PluginKind::Filter),
        ("hide_cost", PluginKind::Mapper),
        ("raw_active_only", PluginKind::Filter),
    ];
    let mut plugins = load(&dir, &wanted, BTreeMap::new())?;
    let mut raw = plugins.pop().expect("three plugins");
    let mut mapper = plugins.pop().expect("three plugins");
    let mut filter = plugins.pop().expect("three plugins");

    let base = batch();
    // Check the plugins do what the native code does before timing them.
    let (b, verdicts) = filter
        .filter(base.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(
        verdicts == native_filter(&b),
        "plugin and native filter disagree"
    );
    let (b, e) = mapper
        .map(base.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mapped = edits::apply(b, e).map_err(|e| anyhow::anyhow!(e))?.batch;
    anyhow::ensure!(
        mapped == native_mapper(base.clone()),
        "plugin and native mapper disagree"
    );

    println!(
        "Plugin ABI, batches of {ROWS} update rows x 10 columns, {rounds} calls of each side, alternating (ns per row; a mapper's figure includes the host applying its edits)\n"
    );
    println!(
        "| plugin | wasm, median | wasm, best block | native, median | native, best block | wasm / native |"
    );
    println!("|---|---|---|---|---|---|");
    if !skipped("active_only") {
        report(
            "active_only (filter)",
            compare(
                rounds,
                &base,
                |b| filter.filter(b).unwrap(),
                |b| {
                    let v = native_filter(&b);
                    (b, v)
                },
            ),
        );
    }
    // The same filter written by hand against the WIT, without the SDK:
    // the SDK's cost is the difference between the two wasm rows.
    let (b, v) = raw
        .filter(base.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(
        v == native_filter(&b),
        "raw_active_only and native disagree"
    );
    if !skipped("raw_active_only") {
        report(
            "active_only by hand, no SDK (filter)",
            compare(
                rounds,
                &base,
                |b| raw.filter(b).unwrap(),
                |b| {
                    let v = native_filter(&b);
                    (b, v)
                },
            ),
        );
    }
    if !skipped("hide_cost") {
        report(
            "hide_cost (mapper)",
            compare(
                rounds,
                &base,
                |b| {
                    let (b, e) = mapper.map(b).unwrap();
                    edits::apply(b, e).unwrap()
                },
                native_mapper,
            ),
        );
    }
    examples(&dir, rounds, &base)?;
    load_times(&dir)
}

/// Decimal text times an integer, exactly, keeping the scale (the native
/// side of `line_total`).
fn decimal_times(d: &str, n: i64) -> String {
    let scale = d.split_once('.').map_or(0, |(_, f)| f.len());
    let unscaled: i128 = d.replace('.', "").parse().expect("decimal");
    let p = (unscaled * i128::from(n)).to_string();
    let p = format!("{p:0>w$}", w = scale + 1);
    let (i, f) = p.split_at(p.len() - scale);
    if scale == 0 {
        i.to_owned()
    } else {
        format!("{i}.{f}")
    }
}

/// The native side of `mask_pii` with `email = ["name"]`, `phone = ["sku"]`,
/// and of `line_total` with `price`, `weight_g` into `cost_price`: each sets
/// cells of the after image, as the plugins do.
fn native_set(mut b: TableChanges, f: impl Fn(&mut Vec<Value>, &[String])) -> Mapped {
    let columns = b.schema.columns.clone();
    for r in &mut b.rows {
        if let Some(after) = &mut r.after {
            f(after, &columns);
        }
    }
    mapped(b)
}

fn col(columns: &[String], name: &str) -> usize {
    columns
        .iter()
        .position(|c| c == name)
        .expect("bench column")
}

fn native_mask(b: TableChanges) -> Mapped {
    native_set(b, |img, cols| {
        let (name, sku) = (col(cols, "name"), col(cols, "sku"));
        if let Value::Text(t) = &img[name] {
            img[name] = Value::Text(match t.split_once('@') {
                Some((l, d)) => format!("{}***@{d}", l.chars().take(1).collect::<String>()),
                None => "***".into(),
            });
        }
        if let Value::Text(t) = &img[sku] {
            let digits: String = t.chars().filter(char::is_ascii_digit).collect();
            let keep = digits.len().saturating_sub(4);
            img[sku] = Value::Text(format!("{}{}", "*".repeat(keep), &digits[keep..]));
        }
    })
}

fn native_line_total(b: TableChanges) -> Mapped {
    native_set(b, |img, cols| {
        let (price, qty, into) = (
            col(cols, "price"),
            col(cols, "weight_g"),
            col(cols, "cost_price"),
        );
        img[into] = match (&img[price], &img[qty]) {
            (Value::Decimal(p), Value::Int(q)) => Value::Decimal(decimal_times(p, *q)),
            _ => Value::Null,
        };
    })
}

/// Instances of the compiled plugins in `dir`, in the order of `wanted`.
fn load(
    dir: &std::path::Path,
    wanted: &[(&str, PluginKind)],
    configs: BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<Vec<Instance>> {
    let runtime = Runtime::new(
        Limits {
            memory_bytes: 64 << 20,
            deadline: Duration::from_millis(1000),
        },
        None,
    )?;
    let kinds = wanted.iter().map(|(n, k)| (n.to_string(), *k)).collect();
    let registry = Registry::load(runtime.clone(), dir, &kinds, &configs)
        .map_err(|e| anyhow::anyhow!(e.join("; ")))?;
    Ok(wanted
        .iter()
        .map(|(n, _)| Instance::new(runtime.clone(), registry.plugins[*n].clone()))
        .collect())
}

/// The configurable example plugins against native Rust, same batch.
fn examples(dir: &std::path::Path, rounds: usize, base: &TableChanges) -> anyhow::Result<()> {
    let wanted = [
        ("filter_by", PluginKind::Filter),
        ("mask_pii", PluginKind::Mapper),
        ("line_total", PluginKind::Mapper),
        ("project", PluginKind::Mapper),
        ("rename", PluginKind::Mapper),
        ("fan_out", PluginKind::Mapper),
    ];
    let configs = BTreeMap::from([
        (
            "project".to_string(),
            serde_json::json!({"keep": ["id", "sku", "price"]}),
        ),
        (
            "rename".to_string(),
            serde_json::json!({"columns": ["name:product_name", "sku:code"], "table": "items"}),
        ),
        (
            "fan_out".to_string(),
            serde_json::json!({"into": "prices", "columns": ["id", "price"]}),
        ),
        (
            "filter_by".to_string(),
            serde_json::json!({"column": "status", "op": "!=", "value": "discontinued"}),
        ),
        (
            "mask_pii".to_string(),
            serde_json::json!({"email": ["name"], "phone": ["sku"]}),
        ),
        (
            "line_total".to_string(),
            serde_json::json!({"price": "price", "quantity": "weight_g", "into": "cost_price"}),
        ),
    ]);
    let mut plugins = load(dir, &wanted, configs)?.into_iter();
    let mut instance = |_: &str| plugins.next().expect("one instance per plugin, in order");

    let mut filter = instance("filter_by");
    if !skipped("filter_by") {
        let (b, v) = filter
            .filter(base.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(v == native_filter(&b), "filter_by and native disagree");
        report(
            "filter_by (filter)",
            compare(
                rounds,
                base,
                |b| filter.filter(b).unwrap(),
                |b| {
                    let v = native_filter(&b);
                    (b, v)
                },
            ),
        );
    }

    // Each mapper's output (the mapped batch and the rows it emitted)
    // must equal the native version's before either is timed.
    type Native = fn(TableChanges) -> Mapped;
    for (name, native_fn) in [
        ("mask_pii", native_mask as Native),
        ("line_total", native_line_total),
        ("project", native_project),
        ("rename", native_rename),
        ("fan_out", native_fan_out),
    ] {
        let mut m = instance(name);
        if skipped(name) {
            continue;
        }
        let (b, e) = m.map(base.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mapped = edits::apply(b, e).map_err(|e| anyhow::anyhow!(e))?;
        let native = native_fn(base.clone());
        anyhow::ensure!(
            mapped.batch == native.batch && mapped.extra == native.extra,
            "{name} and native disagree"
        );
        report(
            &format!("{name} (mapper)"),
            compare(
                rounds,
                base,
                |b| {
                    let (b, e) = m.map(b).unwrap();
                    edits::apply(b, e).unwrap()
                },
                native_fn,
            ),
        );
    }
    Ok(())
}

/// `ONLY=name[,name...]` times only those plugins, for profiling them
/// (docs/benchmarks.md).
fn skipped(name: &str) -> bool {
    std::env::var("ONLY").is_ok_and(|only| !only.split(',').any(|o| o == name))
}

fn mapped(batch: TableChanges) -> Mapped {
    Mapped {
        batch,
        extra: Vec::new(),
    }
}

/// The native side of `project` with `keep = ["id", "sku", "price"]`.
fn native_project(mut b: TableChanges) -> Mapped {
    let keep: Vec<bool> = b
        .schema
        .columns
        .iter()
        .map(|c| ["id", "sku", "price"].contains(&c.as_str()))
        .collect();
    let mut schema = (*b.schema).clone();
    let mut i = 0;
    schema.columns.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    for r in &mut b.rows {
        for img in [&mut r.before, &mut r.after].into_iter().flatten() {
            let mut i = 0;
            img.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
    }
    b.schema = Arc::new(schema);
    mapped(b)
}

/// The native side of `rename` with `name:product_name`, `sku:code` and
/// the target table `items`.
fn native_rename(mut b: TableChanges) -> Mapped {
    let mut schema = (*b.schema).clone();
    for c in &mut schema.columns {
        match c.as_str() {
            "name" => *c = "product_name".into(),
            "sku" => *c = "code".into(),
            _ => {}
        }
    }
    schema.target_table = Some("items".into());
    b.schema = Arc::new(schema);
    mapped(b)
}

/// The native side of `fan_out` into `prices` with `id` and `price`.
fn native_fan_out(b: TableChanges) -> Mapped {
    let (id, price) = (
        col(&b.schema.columns, "id"),
        col(&b.schema.columns, "price"),
    );
    let pick = |img: &Option<Vec<Value>>| {
        img.as_ref()
            .map(|img| vec![img[id].clone(), img[price].clone()])
    };
    let rows = b
        .rows
        .iter()
        .map(|r| RowChange {
            op: r.op,
            before: pick(&r.before),
            after: pick(&r.after),
        })
        .collect();
    let extra = TableChanges {
        schema: Arc::new(TableSchema {
            database: b.schema.database.clone(),
            table: "prices".into(),
            columns: vec!["id".into(), "price".into()],
            key: vec![0],
            target_table: Some("prices".into()),
        }),
        rows,
    };
    Mapped {
        batch: b,
        extra: vec![extra],
    }
}

/// Plugin load time: compiling with cranelift against loading the compiled
/// code from the on-disk cache, median of 5 each.
fn load_times(dir: &std::path::Path) -> anyhow::Result<()> {
    let cache = std::env::temp_dir().join(format!("sluice-bench-cache-{}", std::process::id()));
    let limits = Limits {
        memory_bytes: 64 << 20,
        deadline: Duration::from_millis(1000),
    };
    let compiling = Runtime::new(limits, None)?;
    let cached = Runtime::new(limits, Some(cache.clone()))?;
    println!("\nPlugin load (compile + type-check), median of 5, ms\n");
    println!("| plugin | compiled | from the cache | ratio |");
    println!("|---|---|---|---|");
    for name in ["active_only", "hide_cost"] {
        let path = dir.join(format!("{name}.wasm"));
        let median = |rt: &Runtime| -> anyhow::Result<f64> {
            let mut ms = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                rt.load(name, &path, "{}".into())
                    .map_err(anyhow::Error::msg)?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            ms.sort_by(f64::total_cmp);
            Ok(ms[2])
        };
        let compile = median(&compiling)?;
        cached
            .load(name, &path, "{}".into())
            .map_err(anyhow::Error::msg)?;
        let hit = median(&cached)?;
        println!(
            "| {name} | {compile:.1} | {hit:.2} | {:.0}x |",
            compile / hit
        );
    }
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}
