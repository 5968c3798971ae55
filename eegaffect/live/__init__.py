"""The live session: acquisition -> kernels -> Predictor.step -> prediction outlet, with latency and health
accounting.
"""
