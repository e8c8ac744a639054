//! Schema changes on a MySQL target: the source's own statement, table
//! names mapped, so every column and option is kept. A replay after a crash
//! between a statement and its checkpoint is harmless: the server error
//! codes that mean "already done" are listed with each statement and taken
//! as done.

use super::sql::quote_table;
use crate::change::DdlKind;
use crate::server_error as code;
use crate::target::SchemaChange;

/// The statements that follow a schema change on the target, each with the
/// server error codes that mean "already done" (tolerated, so a replay
/// after a crash between the statement and its checkpoint goes on).
pub(super) fn ddl_statements(change: &SchemaChange<'_>) -> Vec<(String, &'static [u16])> {
    let ddl = change.ddl;
    let name = |i: usize| quote_table(&change.targets[i]);
    match ddl.kind {
        // One table, named in the statement: the statement with the name
        // mapped, so every column and option is kept.
        DdlKind::CreateTable => vec![(ddl.renamed(name), &[code::TABLE_EXISTS])],
        DdlKind::AlterTable => vec![(
            ddl.renamed(name),
            &[
                code::DUP_FIELDNAME,
                code::DUP_KEYNAME,
                code::CANT_DROP_FIELD_OR_KEY,
                code::BAD_FIELD,
            ],
        )],
        DdlKind::TruncateTable => vec![(ddl.renamed(name), &[])],
        // Several tables, perhaps not all copied: only the copied ones.
        DdlKind::DropTable => (0..ddl.tables.len())
            .filter(|&i| change.matched[i])
            .map(|i| (format!("DROP TABLE IF EXISTS {}", name(i)), &[][..]))
            .collect(),
        DdlKind::RenameTable => (0..ddl.tables.len())
            .step_by(2)
            .filter(|&i| change.matched[i])
            .map(|i| {
                let stmt = format!("RENAME TABLE {} TO {}", name(i), name(i + 1));
                (stmt, &[code::TABLE_EXISTS, code::NO_SUCH_TABLE][..])
            })
            .collect(),
        DdlKind::Other => Vec::new(),
    }
}
