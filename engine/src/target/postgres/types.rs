//! MySQL column types as PostgreSQL types, chosen so every value the
//! MySQL type can hold fits exactly (docs/targets/postgres.md has the
//! table). Used when Sluice creates or alters a target table.

/// The PostgreSQL type for a MySQL column type as `SHOW CREATE TABLE` or
/// `information_schema.COLUMNS.COLUMN_TYPE` spell it (`int(11) unsigned`,
/// `decimal(10,2)`, `enum('a','b')`); `None` for a type with no exact
/// PostgreSQL counterpart (spatial types).
pub fn pg_type(mysql: &str) -> Option<String> {
    let lower = mysql.trim().to_ascii_lowercase();
    let base_end = lower
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(lower.len());
    let base = &lower[..base_end];
    let rest = lower[base_end..].trim_start();
    let args: Vec<&str> = match rest.strip_prefix('(') {
        Some(inner) if !base.starts_with("enum") && !base.starts_with("set") => inner
            .split(')')
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    let unsigned = rest.split_whitespace().any(|w| w == "unsigned") || rest.contains(") unsigned");
    let arg = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
    let t = match base {
        "tinyint" | "bool" | "boolean" => "smallint".to_owned(),
        "smallint" if unsigned => "integer".to_owned(),
        "smallint" => "smallint".to_owned(),
        "mediumint" => "integer".to_owned(),
        "int" | "integer" if unsigned => "bigint".to_owned(),
        "int" | "integer" => "integer".to_owned(),
        "bigint" if unsigned => "numeric(20)".to_owned(),
        "bigint" => "bigint".to_owned(),
        "serial" => "numeric(20)".to_owned(),
        "decimal" | "numeric" | "dec" | "fixed" => {
            let p = arg(0).unwrap_or(10);
            let s = arg(1).unwrap_or(0);
            format!("numeric({p},{s})")
        }
        "float" => "real".to_owned(),
        "double" | "real" => "double precision".to_owned(),
        "bit" => format!("bit({})", arg(0).unwrap_or(1)),
        "date" => "date".to_owned(),
        "datetime" => format!("timestamp({})", arg(0).unwrap_or(0)),
        "timestamp" => format!("timestamptz({})", arg(0).unwrap_or(0)),
        // MySQL TIME spans -838:59:59 to 838:59:59: an interval.
        "time" => "interval".to_owned(),
        "year" => "smallint".to_owned(),
        "char" | "varchar" | "nchar" | "nvarchar" => match arg(0) {
            // CHAR is read back without its padding in MySQL: varchar
            // keeps exactly what the binlog carries.
            Some(n) if n > 0 => format!("varchar({n})"),
            _ => "text".to_owned(),
        },
        "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => "text".to_owned(),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            "bytea".to_owned()
        }
        "json" => "jsonb".to_owned(),
        _ => return None,
    };
    Some(t)
}

/// `CREATE TABLE` for a copy of `def` named `qualified` (quoted
/// `schema.table`), or the column whose type has no PostgreSQL match.
pub fn create_table(qualified: &str, def: &crate::target::TableDef) -> Result<String, String> {
    let quote = super::sql::quote;
    let mut cols = Vec::with_capacity(def.columns.len() + 1);
    for (name, ty, nullable) in &def.columns {
        let pg = pg_type(ty).ok_or_else(|| {
            format!(
                "column `{name}` of {}.{} has type {ty}, which has no exact PostgreSQL type; create the table by hand",
                def.database, def.table
            )
        })?;
        cols.push(format!(
            "{} {pg}{}",
            quote(name),
            if *nullable { "" } else { " NOT NULL" }
        ));
    }
    if !def.key.is_empty() {
        let key: Vec<String> = def.key.iter().map(|&k| quote(&def.columns[k].0)).collect();
        cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {qualified} ({})",
        cols.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::pg_type;

    #[test]
    fn every_mysql_type_maps_to_one_that_holds_all_its_values() {
        for (my, pg) in [
            ("tinyint(4)", "smallint"),
            ("tinyint(3) unsigned", "smallint"),
            ("smallint unsigned", "integer"),
            ("mediumint(8) unsigned", "integer"),
            ("int(11)", "integer"),
            ("int(10) unsigned", "bigint"),
            ("bigint(20)", "bigint"),
            ("bigint(20) unsigned", "numeric(20)"),
            ("decimal(65,30)", "numeric(65,30)"),
            ("DECIMAL(10)", "numeric(10,0)"),
            ("float", "real"),
            ("double", "double precision"),
            ("bit(10)", "bit(10)"),
            ("datetime(6)", "timestamp(6)"),
            ("timestamp(3)", "timestamptz(3)"),
            ("time(6)", "interval"),
            ("year(4)", "smallint"),
            ("char(10)", "varchar(10)"),
            ("varchar(255)", "varchar(255)"),
            ("longtext", "text"),
            ("varbinary(16)", "bytea"),
            ("longblob", "bytea"),
            ("enum('a','b,c')", "text"),
            ("set('x','y')", "text"),
            ("json", "jsonb"),
        ] {
            assert_eq!(pg_type(my).as_deref(), Some(pg), "{my}");
        }
        assert_eq!(pg_type("geometry"), None);
    }

    #[test]
    fn a_created_table_keeps_nullability_and_the_key() {
        let def = crate::target::TableDef {
            database: "d".into(),
            table: "t".into(),
            columns: vec![
                ("id".into(), "bigint(20) unsigned".into(), false),
                ("note".into(), "varchar(10)".into(), true),
            ],
            key: vec![0],
        };
        assert_eq!(
            super::create_table("\"s\".\"t\"", &def).unwrap(),
            "CREATE TABLE IF NOT EXISTS \"s\".\"t\" (\"id\" numeric(20) NOT NULL, \"note\" varchar(10), PRIMARY KEY (\"id\"))"
        );
    }
}
