use super::*;
use crate::source::ddl;
use crate::source::shape::ColumnShape;

fn pos(p: u64) -> BinlogPosition {
    format!("binlog.000001:{p}").parse().unwrap()
}

fn shape(cols: &[&str]) -> TableShape {
    TableShape {
        columns: cols
            .iter()
            .map(|n| ColumnShape {
                name: (*n).into(),
                column_type: "int(11)".into(),
                charset: None,
            })
            .collect(),
        key: vec![0],
        charset: Some("utf8mb4".into()),
    }
}

fn history() -> SchemaHistory {
    let mut h = SchemaHistory::new(vec![TablePattern::parse("shop.t").unwrap()]);
    h.add(SchemaVersion {
        database: "shop".into(),
        table: "t".into(),
        at: pos(100),
        shape: Some(shape(&["id", "v"])),
    });
    h
}

fn names(h: &SchemaHistory, t: &str, p: u64) -> Option<Option<Vec<String>>> {
    h.at("shop", t, &pos(p))
        .map(|s| s.map(|s| s.columns.iter().map(|c| c.name.clone()).collect()))
}

#[test]
fn an_event_decodes_with_the_version_before_it() {
    let mut h = history();
    assert_eq!(
        names(&h, "t", 100),
        None,
        "nothing known at or before the first version"
    );
    assert_eq!(
        names(&h, "t", 150),
        Some(Some(vec!["id".into(), "v".into()]))
    );
    let ddl = ddl::parse("shop", "ALTER TABLE t ADD COLUMN note INT");
    assert_eq!(h.follow(&ddl, &pos(200)), Follow::Done);
    assert_eq!(
        names(&h, "t", 150).unwrap().unwrap().len(),
        2,
        "the old position keeps the old shape"
    );
    assert_eq!(names(&h, "t", 250).unwrap().unwrap().len(), 3);
    let fresh = h.take_fresh();
    assert_eq!(fresh.len(), 2, "the first version and the ALTER's");
    assert_eq!(fresh[1].at, pos(200));
    assert!(h.take_fresh().is_empty());
}

#[test]
fn a_shadow_swap_moves_shapes_between_names() {
    let mut h = history();
    for (sql, at) in [
        ("CREATE TABLE shop._t_gho LIKE shop.t", 200),
        ("ALTER TABLE shop._t_gho ADD COLUMN note INT", 300),
        (
            "RENAME TABLE shop.t TO shop._t_del, shop._t_gho TO shop.t",
            400,
        ),
        ("DROP TABLE shop._t_del", 500),
    ] {
        assert_eq!(
            h.follow(&ddl::parse("shop", sql), &pos(at)),
            Follow::Done,
            "{sql}"
        );
    }
    assert_eq!(names(&h, "t", 350).unwrap().unwrap().len(), 2);
    assert_eq!(
        names(&h, "t", 450).unwrap().unwrap().len(),
        3,
        "t is the shadow now"
    );
    assert_eq!(names(&h, "_t_del", 450).unwrap().unwrap().len(), 2);
    assert_eq!(
        names(&h, "_t_gho", 450),
        Some(None),
        "the shadow name is gone"
    );
    assert_eq!(names(&h, "_t_del", 550), Some(None));
}

#[test]
fn what_cannot_be_computed_is_read_again() {
    let mut h = history();
    let ddl = ddl::parse("shop", "ALTER TABLE t CONVERT TO CHARACTER SET latin1");
    assert_eq!(
        h.follow(&ddl, &pos(200)),
        Follow::Reread(vec![("shop".into(), "t".into())])
    );
    let unparsed = ddl::parse("shop", "FROBNICATE t");
    assert_eq!(
        h.follow(&unparsed, &pos(300)),
        Follow::Reread(vec![("shop".into(), "t".into())])
    );
    // A table nobody copies is not followed.
    let other = ddl::parse("shop", "ALTER TABLE other CONVERT TO CHARACTER SET latin1");
    assert_eq!(h.follow(&other, &pos(400)), Follow::Done);
    // A table created with text columns and no charset: the database
    // default is not tracked.
    let mut h = SchemaHistory::new(vec![TablePattern::parse("shop.*").unwrap()]);
    let create = ddl::parse("shop", "CREATE TABLE n (id INT PRIMARY KEY, s TEXT)");
    assert_eq!(
        h.follow(&create, &pos(10)),
        Follow::Reread(vec![("shop".into(), "n".into())])
    );
    let create = ddl::parse(
        "shop",
        "CREATE TABLE m (id INT PRIMARY KEY, s TEXT) DEFAULT CHARSET=utf8mb4",
    );
    assert_eq!(h.follow(&create, &pos(20)), Follow::Done);
    assert!(h.knows("shop", "m", &pos(20)));
}

#[test]
fn a_dropped_database_drops_its_tables() {
    let mut h = history();
    let ddl = ddl::parse("", "DROP DATABASE IF EXISTS `shop`");
    assert_eq!(h.follow(&ddl, &pos(200)), Follow::Done);
    assert_eq!(names(&h, "t", 250), Some(None));
}

#[test]
fn versions_round_trip_through_json() {
    let v = SchemaVersion {
        database: "shop".into(),
        table: "t".into(),
        at: pos(7),
        shape: Some(shape(&["id"])),
    };
    let j = serde_json::to_string(&v).unwrap();
    assert_eq!(serde_json::from_str::<SchemaVersion>(&j).unwrap(), v);
}
