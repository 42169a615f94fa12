"""A single-node Slurm cluster for tests/tools/test_slurm.py (cluster.py, slurm.conf.in)."""
