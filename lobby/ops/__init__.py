"""Operations: metrics, structured logs and the health endpoints."""
