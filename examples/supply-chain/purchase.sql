-- The purchase service's database, on PostgreSQL: its own purchase orders
-- plus read-only copies of the product tables (types as in
-- docs/targets/postgres.md), kept current by Sluice.
--
-- `product` holds every product, discontinued ones included, so every
-- purchase order keeps its product. `purchasable_product` holds only what
-- can still be bought (the active_only filter): the list new purchases are
-- planned from.
CREATE TABLE category (id integer PRIMARY KEY, name varchar(100) NOT NULL);
CREATE TABLE product (
  id bigint PRIMARY KEY,
  sku varchar(32) NOT NULL,
  name varchar(200) NOT NULL,
  status text NOT NULL,
  cost_price numeric(12,2) NOT NULL,
  price numeric(12,2) NOT NULL,
  category_id integer NOT NULL,
  warranty_type_id integer NOT NULL,
  updated_at timestamp(6) NOT NULL
);
CREATE TABLE purchasable_product (LIKE product INCLUDING ALL);
CREATE TABLE batch_no (
  id bigint PRIMARY KEY,
  product_id bigint NOT NULL,
  batch_code varchar(32) NOT NULL,
  supplier varchar(100) NOT NULL,
  unit_cost numeric(12,4) NOT NULL,
  received_on date NOT NULL
);
CREATE TABLE purchase_order (
  id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  po_no varchar(20) NOT NULL,
  product_id bigint NOT NULL,
  quantity integer NOT NULL
);
INSERT INTO purchase_order (po_no, product_id, quantity) VALUES
  ('PO-501', 1, 10000), ('PO-502', 5, 200), ('PO-503', 6, 20), ('PO-504', 3, 500);
