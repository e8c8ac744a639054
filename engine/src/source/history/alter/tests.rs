use super::*;

fn shape(cols: &[(&str, &str, Option<&str>)], key: &[usize]) -> TableShape {
    TableShape {
        columns: cols
            .iter()
            .map(|(n, t, c)| ColumnShape {
                name: (*n).into(),
                column_type: (*t).into(),
                charset: c.map(str::to_owned),
            })
            .collect(),
        key: key.to_vec(),
        charset: Some("utf8mb4".into()),
    }
}

fn names(s: &TableShape) -> Vec<&str> {
    s.columns.iter().map(|c| c.name.as_str()).collect()
}

#[test]
fn column_clauses_change_the_shape_as_the_server_does() {
    let t = shape(&[("id", "int(11)", None), ("v", "int(11)", None)], &[0]);
    let Altered::Shape(s, None) = alter(
        "ALTER TABLE `db`.`t` ADD COLUMN note VARCHAR(10) NULL DEFAULT 'x', ADD c2 INT UNSIGNED NOT NULL AFTER id",
        &t,
    ) else {
        panic!("understood")
    };
    assert_eq!(names(&s), ["id", "c2", "v", "note"]);
    assert_eq!(s.columns[3].column_type, "varchar(10)");
    assert_eq!(
        s.columns[3].charset.as_deref(),
        Some("utf8mb4"),
        "the table's charset"
    );
    assert!(s.columns[1].unsigned());
    assert_eq!(s.key, vec![0]);

    let Altered::Shape(s, None) = alter(
        "ALTER TABLE t DROP COLUMN v, CHANGE id pk BIGINT NOT NULL FIRST",
        &s,
    ) else {
        panic!("understood")
    };
    assert_eq!(names(&s), ["pk", "c2", "note"]);
    assert_eq!(s.key, vec![0], "the key follows the renamed column");
    let Altered::Shape(s, Some(to)) = alter(
        "alter table t modify note enum('a','it''s') character set latin1, rename to u2",
        &s,
    ) else {
        panic!("understood")
    };
    assert_eq!(to, "u2");
    assert_eq!(s.columns[2].column_type, "enum('a','it''s')");
    assert_eq!(s.columns[2].labels(), ["a", "it's"]);
    assert_eq!(s.columns[2].charset.as_deref(), Some("latin1"));
    assert_eq!(
        alter("ALTER TABLE t RENAME TO u", &s),
        Altered::Shape(s.clone(), Some("u".into()))
    );
    let Altered::Shape(k, _) = alter(
        "ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (c2, pk)",
        &s,
    ) else {
        panic!("understood")
    };
    assert_eq!(k.key, vec![1, 0]);
    let Altered::Shape(s2, _) = alter(
        "ALTER TABLE t ADD INDEX ix (note), ENGINE=InnoDB, ALGORITHM=INPLACE",
        &s,
    ) else {
        panic!("understood")
    };
    assert_eq!(s2, s);
}

#[test]
fn what_it_does_not_understand_is_unknown_never_a_guess() {
    let t = shape(
        &[("id", "int(11)", None), ("v", "varchar(5)", Some("utf8"))],
        &[0],
    );
    for sql in [
        "ALTER TABLE t CONVERT TO CHARACTER SET latin1",
        "ALTER TABLE t ADD COLUMN g INT AS (id + 1) VIRTUAL",
        "ALTER TABLE t ADD COLUMN x GEOMETRY",
        "ALTER TABLE t ADD COLUMN x DOUBLE PRECISION",
        "ALTER TABLE t DROP COLUMN nope",
        "ALTER TABLE t ADD COLUMN v INT",
        "ALTER TABLE t ADD (a INT, b INT)",
        "ALTER TABLE t /* note */ ADD c INT",
        "ALTER TABLE t PARTITION BY HASH(id) PARTITIONS 4",
        "ALTER TABLE t ADD COLUMN p INT PRIMARY KEY",
        "ALTER TABLE t ADD PRIMARY KEY (id)",
    ] {
        assert_eq!(alter(sql, &t), Altered::Unknown, "{sql}");
    }
}

#[test]
fn a_create_table_column_list_is_a_shape() {
    let s = create(
        "CREATE TABLE IF NOT EXISTS db.t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, name VARCHAR(20) COLLATE utf8_bin, d DECIMAL(10,2) DEFAULT -1.5, ts TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3), PRIMARY KEY (id), KEY ix (name(4))) ENGINE=InnoDB DEFAULT CHARSET=latin1",
        Some("utf8mb4"),
    )
    .unwrap();
    assert_eq!(names(&s), ["id", "name", "d", "ts"]);
    assert_eq!(s.key, vec![0]);
    assert_eq!(s.charset.as_deref(), Some("latin1"));
    assert_eq!(s.columns[1].charset.as_deref(), Some("utf8"));
    assert_eq!(s.columns[0].column_type, "bigint unsigned");
    let inline = create(
        "CREATE TABLE t (k INT PRIMARY KEY, x TEXT)",
        Some("utf8mb4"),
    )
    .unwrap();
    assert_eq!(
        (inline.key.clone(), inline.columns[1].charset.as_deref()),
        (vec![0], Some("utf8mb4"))
    );
    for sql in [
        "CREATE TABLE t LIKE u",
        "CREATE TABLE t (id INT) AS SELECT 1",
        "CREATE TABLE t (id INT, CONSTRAINT pk PRIMARY KEY (id))",
    ] {
        assert_eq!(create(sql, Some("utf8mb4")), None, "{sql}");
    }
}
