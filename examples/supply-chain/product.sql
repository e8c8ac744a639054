-- The product service's own database (the source).
CREATE DATABASE IF NOT EXISTS product;
USE product;
CREATE TABLE category (
  id INT PRIMARY KEY,
  name VARCHAR(100) NOT NULL
);
CREATE TABLE warranty_type (
  id INT PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  months INT NOT NULL
);
CREATE TABLE product (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  sku VARCHAR(32) NOT NULL UNIQUE,
  name VARCHAR(200) NOT NULL,
  status ENUM('active', 'discontinued') NOT NULL DEFAULT 'active',
  cost_price DECIMAL(12,2) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  category_id INT NOT NULL,
  warranty_type_id INT NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
);
-- Production batches: who supplied them and what they cost.
CREATE TABLE batch_no (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  product_id BIGINT NOT NULL,
  batch_code VARCHAR(32) NOT NULL,
  supplier VARCHAR(100) NOT NULL,
  unit_cost DECIMAL(12,4) NOT NULL,
  received_on DATE NOT NULL
);
INSERT INTO category VALUES (1, 'Fasteners'), (2, 'Bearings'), (3, 'Power tools');
INSERT INTO warranty_type VALUES (1, 'None', 0), (2, 'Standard', 12), (3, 'Extended', 36);
INSERT INTO product (sku, name, status, cost_price, price, category_id, warranty_type_id) VALUES
  ('FST-0001', 'Hex bolt M8x40, zinc', 'active', 0.06, 0.19, 1, 1),
  ('FST-0002', 'Hex nut M8, zinc', 'active', 0.02, 0.07, 1, 1),
  ('FST-0003', 'Washer M8, stainless', 'discontinued', 0.03, 0.09, 1, 1),
  ('BRG-6204', 'Deep groove ball bearing 6204-2RS', 'active', 1.10, 3.40, 2, 2),
  ('BRG-6305', 'Deep groove ball bearing 6305-ZZ', 'active', 2.35, 6.90, 2, 2),
  ('PWR-1001', 'Cordless drill 18V', 'active', 48.00, 119.00, 3, 3);
INSERT INTO batch_no (product_id, batch_code, supplier, unit_cost, received_on) VALUES
  (1, 'B24-0117', 'Würth Industrie', 0.0580, '2024-01-17'),
  (2, 'B24-0117', 'Würth Industrie', 0.0190, '2024-01-17'),
  (4, 'B24-0302', 'SKF Distribution', 1.0950, '2024-03-02'),
  (6, 'B24-0415', 'Makita Europe', 47.5000, '2024-04-15');
