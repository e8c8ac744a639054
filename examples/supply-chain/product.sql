-- The product service's own database (the source).
CREATE DATABASE IF NOT EXISTS product;
USE product;
CREATE TABLE category (
  id INT PRIMARY KEY,
  name VARCHAR(100) NOT NULL
);
CREATE TABLE product (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  sku VARCHAR(32) NOT NULL UNIQUE,
  name VARCHAR(200) NOT NULL,
  status ENUM('active', 'discontinued') NOT NULL DEFAULT 'active',
  cost_price DECIMAL(12,2) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  category_id INT NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
);
INSERT INTO category VALUES (1, 'Fasteners'), (2, 'Bearings'), (3, 'Power tools');
INSERT INTO product (sku, name, status, cost_price, price, category_id) VALUES
  ('FST-0001', 'Hex bolt M8x40, zinc', 'active', 0.06, 0.19, 1),
  ('FST-0002', 'Hex nut M8, zinc', 'active', 0.02, 0.07, 1),
  ('FST-0003', 'Washer M8, stainless', 'discontinued', 0.03, 0.09, 1),
  ('BRG-6204', 'Deep groove ball bearing 6204-2RS', 'active', 1.10, 3.40, 2),
  ('BRG-6305', 'Deep groove ball bearing 6305-ZZ', 'active', 2.35, 6.90, 2),
  ('PWR-1001', 'Cordless drill 18V', 'active', 48.00, 119.00, 3);
