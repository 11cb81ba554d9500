"""schemathesis hooks (loaded by tests/tests/schemathesis.rs through SCHEMATHESIS_HOOKS).

`format: p256-public-key` in docs/openapi.yaml: whether 65 bytes are a point of the P-256 curve
cannot be written in JSON Schema, so schema-valid keys are drawn from real ones (generated with
`openssl ecparam -name prime256v1 -genkey`), as browsers send them.
"""

import schemathesis
from hypothesis import strategies as st

P256_PUBLIC_KEYS = [
    "BA7aHcXjJxZbLVY2D-VINCmzUn53zbdXq-5JC2DhenF6SwFwp2HBnczySqF95XG0reHUSLLVG3vYMVZHrcOQvU8",
    "BJO5qXkK_asJP2nlpEfOXbRqj_ooJmPCX6unz-gaf4gEdnah-3RqnnLfX6XPxYtf7oE0kogsHGuEXu5VYx1UGdY",
    "BFsm8RZdzFRh0adipb9yepzqcI032bKiuO9CwEhrhkISfKTOLkwRiKlxREmemBqUF32p7TfHPg71i_wWeEg9GS4",
    "BD7mUPpa9rIfZI1DVfc0kyzdK8zcYS_biXfeDwJyF1pxFuc845jMoG4nDsCr4l8qXrErBLNfL_Gab-aRZJ2McGs",
]

schemathesis.openapi.format("p256-public-key", st.sampled_from(P256_PUBLIC_KEYS))
