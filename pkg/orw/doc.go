// Package orw is online reward-weighted conditional flow matching with
// Wasserstein-2 regularisation (ORW-CFM-W2; Fan et al., "Online
// Reward-Weighted Fine-Tuning of Flow Matching with Wasserstein
// Regularization", ICLR 2025, arXiv 2502.06061).
//
// A pretrained flow-matching model generates samples; a black-box reward
// scores them. The trainer samples from the model being fine-tuned, weights
// each sample by exp(τ·r), and regresses the velocity field on those samples;
// the W2 term α·‖v_ft − v_ref‖² keeps it near the reference model so that it
// does not collapse onto one mode. docs/method.md explains the method with the
// same names as the code.
//
// # The paper's equations and their functions
//
//	x_t = t·x1 + (1−t)·x0                      Path.Xt        the probability path (rectified flow)
//	u   = x1 − x0                              Path.U         its target velocity
//	fm  = mean_pixels ‖v(t, x_t) − u‖²         CFMTerm        the CFM term of one sample
//	L_CFM = mean_i fm_i                        CFMLoss        the pretraining objective
//	w   = exp(τ·r(x1))                         ExpWeighting   the online reward weights
//	w2  = mean_pixels ‖v_ft − v_ref‖²          W2Term         the velocity gap that bounds W2²
//	L   = mean_i (w_i·fm_i + α·w2_i)           ORWLoss        the paper's Eq. 10
//	π(x0) ↔ x1 minimising Σ‖x1 − x0‖²          ExactOT        the OT-CFM minibatch coupling
//	dx/dt = v(t, x), t: 0 → 1                  Generator      sampling (package ode integrates)
//	Algorithm 1, one iteration                 Trainer.Step   refresh, sample, score, weight, regress
//
// The theory (Lemma 1: without W2 each refresh multiplies the density by
// exp(τ·r), so q_N ∝ exp(τ·N·r)·p_ref) is checked on a 2-D mixture in
// theory_test.go.
//
// # Baselines
//
// Every method is the same Trainer with a different source of x1, selection
// and weighting (Config.Spec): ORW-CFM (online, all samples, exp weights),
// RW-CFM (a fixed pool of reference samples, exp weights), RAFT (online, the
// best fraction, uniform weights) and ReFT (the best fraction of the pool,
// uniform weights). Samples.Best is the selection of RAFT and ReFT. Each of
// them takes the W2 term when Alpha > 0.
//
// # Machinery
//
// The sub-packages hold what is not the method: nets (velocity networks,
// autoencoders, classifiers), optim (Adam with warm-up, clipping and EMA),
// ode (fixed-step samplers), ot (exact assignment, empirical W2), metrics
// (diversity, weight and coverage statistics, the Fréchet distance, image
// statistics), ckpt (the checkpoint file format), rundir (run directories:
// checkpoints, history, locks, resumption), train (the one training loop
// with hooks and progress bars), pretrain (base models) and backends (the
// GoMLX compute backend).
package orw
