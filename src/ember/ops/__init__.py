"""ember's operations, one autograd Function per op, grouped by family."""
