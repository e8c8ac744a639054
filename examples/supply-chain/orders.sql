-- The order service's database: its own tables plus read-only replicas of
-- the product tables, kept current by Sluice.
CREATE DATABASE IF NOT EXISTS orders;
USE orders;
CREATE TABLE category (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL);
CREATE TABLE warranty_type (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, months INT NOT NULL);
-- No cost_price (hide_cost drops it), `name` arrives as product_name, and
-- discontinued products are not copied (active_only).
CREATE TABLE product (
  id BIGINT PRIMARY KEY,
  sku VARCHAR(32) NOT NULL,
  product_name VARCHAR(200) NOT NULL,
  status ENUM('active', 'discontinued') NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  category_id INT NOT NULL,
  warranty_type_id INT NOT NULL,
  updated_at DATETIME(6) NOT NULL
);
CREATE TABLE order_line (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  order_no VARCHAR(20) NOT NULL,
  product_id BIGINT NOT NULL,
  quantity INT NOT NULL
);
INSERT INTO order_line (order_no, product_id, quantity) VALUES
  ('SO-1001', 1, 200), ('SO-1001', 2, 200), ('SO-1002', 4, 12), ('SO-1003', 6, 1);
