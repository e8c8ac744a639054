//! Supply-chain example mapper: the order service must not see what a
//! product costs us, and calls the product's name `product_name`.

use sluice::RowMut;

#[sluice::mapper]
pub fn hide_cost(row: &mut RowMut) {
    row.drop_column("cost_price");
    row.rename_column("name", "product_name");
}
