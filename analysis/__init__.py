"""Analysis: jump-tables, device distributions and the versioned device model, fitted from the database."""
