"""Operations: data import and export, the ops HTTP endpoint, and the site status summary."""
