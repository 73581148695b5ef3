"""Analysis of measured data: jump-tables, distributions and the versioned device model."""
