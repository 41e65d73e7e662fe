#!/usr/bin/env python3
"""Time to a given error: nmf-rs against scikit-learn on the same data, in one run.

For each data set: scikit-learn NMF(solver='cd', init='nndsvda', tol=1e-4) runs to its own
stop; its final relative error ||X - WH||_F / ||X||_F is the target that nmf-rs's hals, anls and
cd must reach from their own NNDSVDa start. NMF(solver='mu', beta_loss='kullback-leibler') runs
likewise and its final generalized KL divergence is the target of nmf-rs's mu-KL and cd-KL
(coordinate descent with Newton steps, `--solver cd --loss kl`). MiniBatchNMF
is timed and its final error reported. nmf-rs is timed by the `time_to_target` example (NNDSVDa
+ solver steps; the error check after each step is outside its clock). Ratios = sklearn
seconds / nmf-rs seconds (> 1: nmf-rs faster).

    python compare.py --bin ../../target/release/examples/time_to_target \
        --case dense:5000x1000:10 --case pbmc3k:/path/to/counts.mtx:10
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy.io
import scipy.sparse as sp
from sklearn.decomposition import NMF, MiniBatchNMF
from sklearn.exceptions import ConvergenceWarning

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def dense_case(m, n, k, seed=0):
    """features m, samples n: a planted rank-k product plus 10% uniform noise (samples x features)."""
    rng = np.random.default_rng(seed)
    w = rng.random((m, k))
    h = rng.random((k, n))
    return (w @ h + 0.1 * rng.random((m, n))).T.copy()


def rel_error(x, w, h):
    if sp.issparse(x):
        wh_norm2 = np.sum((w.T @ w) * (h @ h.T))
        cross = _sparse_cross(x, w, h)
        sq = x.multiply(x).sum()
        return np.sqrt(max(sq - 2 * cross + wh_norm2, 0.0) / sq)
    return np.linalg.norm(x - w @ h) / np.linalg.norm(x)


def _sparse_cross(x, w, h):
    x = x.tocoo()
    return float(np.sum(x.data * np.einsum("ij,ij->i", w[x.row], h[:, x.col].T)))


def kl(x, w, h):
    """Generalized KL sum x log(x/y) - x + y (the definition nmf-rs uses)."""
    total = float(w.sum(axis=0) @ h.sum(axis=1))
    if sp.issparse(x):
        x = x.tocoo()
        y = np.einsum("ij,ij->i", w[x.row], h[:, x.col].T)
        d = x.data
    else:
        y = (w @ h).ravel()
        d = x.ravel()
        keep = d > 0
        y, d = y[keep], d[keep]
    y = np.maximum(y, np.finfo(float).tiny)
    return float(np.sum(d * np.log(d / y) - d)) + total


def write(x, folder):
    if sp.issparse(x):
        x = sp.csr_matrix(x, dtype=np.float64)
        x.sort_indices()
        np.save(os.path.join(folder, "indptr.npy"), x.indptr.astype(np.int64))
        np.save(os.path.join(folder, "indices.npy"), x.indices.astype(np.int64))
        np.save(os.path.join(folder, "data.npy"), x.data.astype(np.float64))
        np.save(os.path.join(folder, "shape.npy"), np.array(x.shape, dtype=np.int64))
    else:
        np.save(os.path.join(folder, "x.npy"), np.ascontiguousarray(x, dtype=np.float64))


def timed(model, x):
    t = time.perf_counter()
    w = model.fit_transform(x)
    return time.perf_counter() - t, w, model.components_


def nmf_rs(binary, folder, solver, k, target, max_iter, threads):
    out = subprocess.run(
        [binary, folder, solver, str(k), repr(float(target)), str(max_iter), str(threads)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_case(name, x, k, args):
    print(f"\n## {name}: {x.shape[0]} samples x {x.shape[1]} features, k={k}, "
          f"{'sparse nnz=' + str(x.nnz) if sp.issparse(x) else 'dense'}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        write(x, folder)
        t_cd, w, h = timed(NMF(k, solver="cd", init="nndsvda", tol=1e-4, max_iter=args.max_iter, random_state=0), x)
        target = rel_error(x, w, h)
        print(f"sklearn cd: {t_cd:.3f} s, relative error {target:.6f}", flush=True)
        t_mu, w, h = timed(NMF(k, solver="mu", beta_loss="kullback-leibler", init="nndsvda", tol=1e-4,
                               max_iter=args.max_iter, random_state=0), x)
        target_kl = kl(x, w, h)
        print(f"sklearn mu-KL: {t_mu:.3f} s, KL {target_kl:.6g}", flush=True)
        t_mb, w, h = timed(MiniBatchNMF(k, init="nndsvda", random_state=0, max_iter=args.max_iter), x)
        print(f"sklearn MiniBatchNMF: {t_mb:.3f} s, relative error {rel_error(x, w, h):.6f}", flush=True)
        # hals:0.5:0.01 is accelerated HALS with the stricter inner stop δ = 0.01 (nnlsHALSupdt's);
        # hals-x and anls-x extrapolate between block steps (Ang & Gillis 2019).
        for solver in ["hals", "hals:0.5:0.01", "hals-x", "anls", "anls-x", "cd"]:
            r = nmf_rs(args.bin, folder, solver, k, target * (1 + 1e-9), args.rust_max_iter, args.threads)
            rows.append((name, solver, "sklearn cd", t_cd, r))
            rows.append((name, solver, "sklearn MiniBatchNMF", t_mb, r))
        # cd-kl is coordinate descent with safeguarded Newton steps (Hsieh & Dhillon 2011).
        for solver in ["mu-kl", "cd-kl"]:
            r = nmf_rs(args.bin, folder, solver, k, target_kl * (1 + 1e-9), args.rust_max_iter, args.threads)
            rows.append((name, solver, "sklearn mu-KL", t_mu, r))
    print("| data | nmf-rs solver | peer | peer s | nmf-rs s (iters) | reached | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for name, solver, peer, t_peer, r in rows:
        print(f"| {name} | {solver} | {peer} | {t_peer:.3f} | {r['seconds']:.3f} ({r['iterations']}) | "
              f"{'yes' if r['reached'] else 'no'} | {t_peer / r['seconds']:.1f}x |", flush=True)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True, help="the time_to_target example binary (release)")
    p.add_argument("--case", action="append", required=True,
                   help="dense:MxN:K (M features, N samples), mtx:PATH:K (rows = samples, as shared/data) "
                        "or mtx-features:PATH:K (rows = features, as `nmf simulate` writes)")
    p.add_argument("--max-iter", type=int, default=200, help="sklearn max_iter (its default)")
    p.add_argument("--rust-max-iter", type=int, default=2000)
    p.add_argument("--threads", type=int, default=0, help="nmf-rs threads (0 = all cores)")
    args = p.parse_args()
    for case in args.case:
        kind, spec, k = case.split(":")
        if kind == "dense":
            m, n = map(int, spec.split("x"))
            run_case(f"dense {m}x{n}", dense_case(m, n, int(k)), int(k), args)
        elif kind in ("mtx", "mtx-features"):
            x = scipy.io.mmread(spec)
            # mtx-features: rows are features (as `nmf simulate` writes X.mtx); sklearn wants samples.
            x = sp.csr_matrix(x.T if kind == "mtx-features" else x, dtype=np.float64)
            run_case(os.path.basename(os.path.dirname(spec)) or spec, x, int(k), args)
        else:
            sys.exit(f"unknown case {case}")


if __name__ == "__main__":
    main()
