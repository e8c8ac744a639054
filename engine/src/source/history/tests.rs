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

/// The DDL forms of MySQL's manual that change (or could change) a
/// table's columns, and the statements of the tests: which ones the
/// history computes from the statement, and which it reads again from
/// `information_schema` (proven current, `reread`). The counts are in
/// docs/targets/mysql.md, next to the `sqlparser` crate's on the same list.
#[test]
fn the_forms_it_computes_and_the_ones_it_reads_again() {
    #[derive(Debug, PartialEq)]
    enum Outcome {
        Computed,
        Reread,
    }
    use Outcome::*;
    let forms = [
        ("ALTER TABLE t ADD COLUMN c INT", Computed),
        ("ALTER TABLE t ADD c INT NOT NULL DEFAULT 0", Computed),
        (
            "ALTER TABLE t ADD COLUMN c VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL COMMENT 'x'",
            Computed,
        ),
        ("ALTER TABLE t ADD COLUMN c INT FIRST", Computed),
        ("ALTER TABLE t ADD COLUMN c INT AFTER id", Computed),
        ("ALTER TABLE t ADD COLUMN (a INT, b INT)", Reread),
        (
            "ALTER TABLE t ADD COLUMN c ENUM('a','b') NOT NULL DEFAULT 'a'",
            Computed,
        ),
        (
            "ALTER TABLE t ADD COLUMN c TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)",
            Computed,
        ),
        (
            "ALTER TABLE t ADD COLUMN c DECIMAL(10,2) UNSIGNED ZEROFILL",
            Computed,
        ),
        ("ALTER TABLE t ADD COLUMN g INT AS (id + 1) VIRTUAL", Reread),
        ("ALTER TABLE t DROP COLUMN a", Computed),
        ("ALTER TABLE t DROP b", Computed),
        ("ALTER TABLE t CHANGE COLUMN a b BIGINT NOT NULL", Computed),
        ("ALTER TABLE t CHANGE a b VARCHAR(10) AFTER id", Computed),
        ("ALTER TABLE t MODIFY COLUMN a BIGINT", Computed),
        ("ALTER TABLE t MODIFY a TEXT FIRST", Computed),
        ("ALTER TABLE t RENAME COLUMN a TO b", Computed),
        ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 5", Computed),
        ("ALTER TABLE t ALTER a DROP DEFAULT", Computed),
        ("ALTER TABLE t ADD INDEX ix (a)", Computed),
        ("ALTER TABLE t ADD UNIQUE KEY uk (a, b)", Computed),
        ("ALTER TABLE t ADD PRIMARY KEY (id)", Reread),
        ("ALTER TABLE t DROP PRIMARY KEY", Computed),
        ("ALTER TABLE t DROP INDEX ix", Computed),
        (
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id)",
            Computed,
        ),
        ("ALTER TABLE t DROP FOREIGN KEY fk", Computed),
        ("ALTER TABLE t RENAME TO u", Computed),
        ("ALTER TABLE t RENAME INDEX a TO b", Computed),
        ("ALTER TABLE t ENGINE=InnoDB", Computed),
        ("ALTER TABLE t COMMENT='x'", Computed),
        ("ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4", Reread),
        ("ALTER TABLE t DEFAULT CHARSET=latin1", Computed),
        (
            "ALTER TABLE t ADD COLUMN c INT, ALGORITHM=INPLACE, LOCK=NONE",
            Computed,
        ),
        ("ALTER TABLE t FORCE", Computed),
        ("ALTER TABLE t PARTITION BY HASH(id) PARTITIONS 4", Reread),
        (
            "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10)) DEFAULT CHARSET=utf8mb4",
            Computed,
        ),
        (
            "CREATE TABLE IF NOT EXISTS t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=latin1",
            Computed,
        ),
        (
            "CREATE TABLE t (id INT, b TEXT, PRIMARY KEY (id), KEY ix (b(10))) CHARSET=utf8",
            Computed,
        ),
        ("CREATE TABLE t LIKE u", Computed),
        ("CREATE TABLE t AS SELECT * FROM u", Reread),
        ("CREATE TEMPORARY TABLE t (id INT)", Reread),
        ("RENAME TABLE t TO u", Computed),
        ("RENAME TABLE t TO _t_del, _t_gho TO t", Computed),
        ("DROP TABLE t", Computed),
        ("DROP TABLE IF EXISTS t, u", Computed),
        ("TRUNCATE TABLE t", Computed),
        ("CREATE INDEX ix ON t (a)", Computed),
        ("DROP INDEX ix ON t", Computed),
        (
            "CREATE DEFINER=`root`@`localhost` TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET @a = 1",
            Computed,
        ),
        ("DROP DATABASE d", Computed),
    ];
    let base = |cols: &[(&str, &str)]| TableShape {
        columns: cols
            .iter()
            .map(|(n, t)| ColumnShape {
                name: (*n).into(),
                column_type: (*t).into(),
                charset: t.starts_with("varchar").then(|| "utf8mb4".to_owned()),
            })
            .collect(),
        key: vec![0],
        charset: Some("utf8mb4".into()),
    };
    let (mut computed, mut reread) = (0, 0);
    for (sql, want) in forms {
        let mut h = SchemaHistory::new(vec![TablePattern::parse("db.*").unwrap()]);
        for t in ["t", "u", "_t_gho"] {
            h.add(SchemaVersion {
                database: "db".into(),
                table: t.into(),
                at: pos(100),
                shape: Some(base(&[
                    ("id", "int(11)"),
                    ("a", "int(11)"),
                    ("b", "varchar(10)"),
                ])),
            });
        }
        let got = match h.follow(&ddl::parse("db", sql), &pos(200)) {
            Follow::Done => Computed,
            Follow::Reread(_) => Reread,
        };
        assert_eq!(got, want, "{sql}");
        match got {
            Computed => computed += 1,
            Reread => reread += 1,
        }
    }
    assert_eq!(
        (computed, reread),
        (43, 7),
        "the counts docs/targets/mysql.md gives"
    );
}
