-- The purchase service's database: it needs what things cost and who
-- supplies them, for products it can still buy (no discontinued ones).
CREATE DATABASE IF NOT EXISTS purchase;
USE purchase;
CREATE TABLE category (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL);
CREATE TABLE product (
  id BIGINT PRIMARY KEY,
  sku VARCHAR(32) NOT NULL,
  name VARCHAR(200) NOT NULL,
  status ENUM('active', 'discontinued') NOT NULL,
  cost_price DECIMAL(12,2) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  category_id INT NOT NULL,
  warranty_type_id INT NOT NULL,
  updated_at DATETIME(6) NOT NULL
);
CREATE TABLE batch_no (
  id BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL,
  batch_code VARCHAR(32) NOT NULL,
  supplier VARCHAR(100) NOT NULL,
  unit_cost DECIMAL(12,4) NOT NULL,
  received_on DATE NOT NULL
);
CREATE TABLE purchase_order (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  po_no VARCHAR(20) NOT NULL,
  product_id BIGINT NOT NULL,
  quantity INT NOT NULL
);
INSERT INTO purchase_order (po_no, product_id, quantity) VALUES
  ('PO-501', 1, 10000), ('PO-502', 5, 200), ('PO-503', 6, 20);
