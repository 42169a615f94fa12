"""Write fair.csv from the copy of Fair's (1978) affairs survey that statsmodels ships.

Redbook magazine's 1974 survey of married women (statsmodels.datasets.fair). An
``id`` column is added (row number) so the study file has a subject identifier.
Run once from this folder: ``python convert.py``.
"""

from pathlib import Path

import statsmodels
from statsmodels.datasets import fair

frame = fair.load_pandas().data
frame.insert(0, "id", range(1, len(frame) + 1))
out = Path(__file__).with_name("fair.csv")
frame.to_csv(out, index=False, float_format="%.6g", lineterminator="\n")
print(f"{out.name}: {len(frame)} rows (statsmodels {statsmodels.__version__})")
