//! REINFORCE: a policy-gradient controller over the space's choices (Williams 1992; as in
//! Zoph & Le and MnasNet, with a softmax per choice instead of a recurrent controller).

use std::collections::HashMap;

use super::{Outcome, Score, Strategy};
use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};

/// A softmax over each choice's values. `ask` samples every active choice from its softmax;
/// `tell` moves the logits of the values taken along the reward's advantage over a moving
/// average baseline (normalised by the rewards' moving spread), plus an entropy bonus that
/// keeps the policy from collapsing early. An infeasible genotype is rewarded like the worst
/// feasible one seen, so the policy learns where the limits are.
#[derive(Clone, Debug)]
pub struct Reinforce {
    /// The learning rate of the logits.
    pub learning_rate: f64,
    /// The weight of the entropy bonus.
    pub entropy: f64,
    /// The decay of the moving averages (baseline and spread).
    pub decay: f64,
    /// With a latency target T, the reward is MnasNet's `objective × (latency / T)^w`: a
    /// candidate faster than the target earns a little more, a slower one a little less.
    pub latency_target_ms: Option<f64>,
    /// The exponent w of that reward (MnasNet's soft constraint: −0.07).
    pub latency_weight: f64,
    /// Per choice: the text of each value (to read a told genotype) and its logits.
    policy: HashMap<String, (Vec<String>, Vec<f64>)>,
    baseline: Option<(f64, f64)>,
    worst: Option<f64>,
}

impl Default for Reinforce {
    fn default() -> Reinforce {
        Reinforce {
            learning_rate: 0.05,
            entropy: 0.01,
            decay: 0.9,
            latency_target_ms: None,
            latency_weight: -0.07,
            policy: HashMap::new(),
            baseline: None,
            worst: None,
        }
    }
}

/// The softmax of `logits`.
fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

impl Reinforce {
    /// The reward of a score: the objective, times `(latency / target)^w` with a target.
    fn reward(&self, score: &Score) -> f64 {
        match self.latency_target_ms {
            Some(target) if score.latency_ms > 0.0 && target > 0.0 => {
                score.objective * (score.latency_ms / target).powf(self.latency_weight)
            }
            _ => score.objective,
        }
    }
}

impl Strategy for Reinforce {
    fn name(&self) -> &'static str {
        "reinforce"
    }

    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype {
        space.build(|choice| {
            let (_, logits) = self.policy.entry(choice.name.clone()).or_insert_with(|| {
                let texts = choice.domain.values().map(|v| v.to_string()).collect();
                (texts, vec![0.0; choice.domain.len()])
            });
            let p = softmax(logits);
            let mut u = rng.unit();
            let mut pick = p.len() - 1;
            for (i, pi) in p.iter().enumerate() {
                if u < *pi {
                    pick = i;
                    break;
                }
                u -= pi;
            }
            choice.domain.get(pick)
        })
    }

    fn tell(&mut self, genotype: &Genotype, outcome: Outcome) {
        let reward = match outcome {
            Outcome::Feasible(score) => {
                let r = self.reward(&score);
                self.worst = Some(self.worst.map_or(r, |w| w.min(r)));
                r
            }
            Outcome::Infeasible => match self.worst {
                Some(w) => w,
                // Nothing feasible yet: no scale to punish on; only the baseline moves.
                None => return,
            },
        };
        let (mean, spread) = self.baseline.unwrap_or((reward, 0.0));
        let advantage = (reward - mean) / (spread.sqrt() + 1e-6);
        let d = self.decay;
        self.baseline = Some((
            d * mean + (1.0 - d) * reward,
            d * spread + (1.0 - d) * (reward - mean).powi(2),
        ));
        if spread == 0.0 {
            return;
        }
        for (name, value) in genotype.iter() {
            // A choice this policy never asked (a genotype from a study's history) is skipped.
            let Some((texts, logits)) = self.policy.get_mut(name) else {
                continue;
            };
            let Some(taken) = texts.iter().position(|t| *t == value.to_string()) else {
                continue;
            };
            let p = softmax(logits);
            let entropy: f64 = -p.iter().map(|q| q * q.max(1e-12).ln()).sum::<f64>();
            for (i, l) in logits.iter_mut().enumerate() {
                let chosen = if i == taken { 1.0 } else { 0.0 };
                let policy = advantage * (chosen - p[i]);
                let bonus = -p[i] * (p[i].max(1e-12).ln() + entropy);
                *l += self.learning_rate * (policy + self.entropy * bonus);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::space::load_space;

    #[test]
    fn rewarded_values_become_likelier() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(3);
        let mut r = Reinforce::default();
        // Reward genotypes by their number of 3×3 convolutions.
        let convs = |g: &Genotype| {
            g.iter()
                .filter(|(_, v)| v.to_string() == "nor_conv_3x3")
                .count() as f64
        };
        let mut early = 0.0;
        let mut late = 0.0;
        for step in 0..600 {
            let g = r.ask(&space, &mut rng);
            let c = convs(&g);
            if step < 100 {
                early += c;
            } else if step >= 500 {
                late += c;
            }
            r.tell(&g, Outcome::feasible(c));
        }
        assert!(late > 2.0 * early, "early {early}, late {late}");
    }

    #[test]
    fn infeasible_genotypes_are_punished_like_the_worst_feasible_one() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(4);
        let mut r = Reinforce::default();
        // Before anything feasible is known, an infeasible genotype teaches nothing.
        let g = r.ask(&space, &mut rng);
        r.tell(&g, Outcome::Infeasible);
        assert!(r.baseline.is_none());
        r.tell(&g, Outcome::feasible(90.0));
        r.tell(&g, Outcome::feasible(92.0));
        r.tell(&g, Outcome::Infeasible);
        assert_eq!(r.worst, Some(90.0));
    }

    #[test]
    fn with_a_latency_target_the_reward_is_mnasnets() {
        let r = Reinforce {
            latency_target_ms: Some(10.0),
            ..Reinforce::default()
        };
        let score = |latency_ms| Score {
            objective: 90.0,
            latency_ms,
            ram_bytes: 0.0,
            flash_bytes: 0.0,
        };
        assert_eq!(r.reward(&score(10.0)), 90.0);
        // Half the target: 90 × 0.5^−0.07 ≈ 94.45; twice: ≈ 85.76.
        assert!((r.reward(&score(5.0)) - 90.0 * 0.5f64.powf(-0.07)).abs() < 1e-9);
        assert!(r.reward(&score(20.0)) < 90.0);
        assert_eq!(Reinforce::default().reward(&score(5.0)), 90.0);
    }
}
