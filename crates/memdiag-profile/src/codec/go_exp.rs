//! Go's `math.Exp`, bit for bit. Unsampling Go's legacy heap text divides by
//! `1 - e^-x`; matching `go tool pprof`'s figures to the last unit needs the
//! same last bit of `e^-x` that Go computes, which a correctly rounded exp
//! does not always give. The algorithm is FreeBSD's e_exp.c reduction and
//! Remez polynomial (as Go's portable version) and the Taylor-and-squaring
//! scheme of Go's amd64 and arm64 assembly, written here in Rust.

use std::f64::consts::LOG2_E;

/// `math.Exp` bit for bit as the Go toolchain computes it on this machine's
/// architecture. The unsampling scale `1/(1 - e^-x)` amplifies a last-bit
/// difference of `e^-x` by up to `1/x`, which is enough to move the truncated
/// figures of small objects at large sampling rates by one.
pub(crate) fn go_exp(x: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        // Go's internal/cpu: useFMA = HasAVX && HasFMA.
        let fma = std::arch::is_x86_feature_detected!("avx")
            && std::arch::is_x86_feature_detected!("fma");
        exp_amd64(x, fma)
    }
    #[cfg(target_arch = "aarch64")]
    {
        exp_arm64(x)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        exp_portable(x)
    }
}

/// Go's amd64 assembly `math.Exp`: reduction by ln 2 (rounded to nearest),
/// a Taylor polynomial on a sixteenth of the remainder, four squarings of
/// `expm1` and a scaling by the power of two, with or without fused
/// multiply-adds.
pub(crate) fn exp_amd64(x: f64, fma: bool) -> f64 {
    // ln 2 split in a high part with trailing zero bits and the rest.
    const LN2_UPPER: f64 = 0.693_147_180_559_663;
    const LN2_LOWER: f64 = 2.823_529_056_303_157_7e-13;
    // 1/8!, 1/7!, ..., 1/2!, 1/1!: Horner's order.
    const TAYLOR: [f64; 8] = [
        2.480_158_730_158_73e-5,
        1.984_126_984_126_984e-4,
        1.388_888_888_888_889e-3,
        8.333_333_333_333_333e-3,
        4.166_666_666_666_666_4e-2,
        0.166_666_666_666_666_66,
        0.5,
        1.0,
    ];
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    if x > EXP_OVERFLOW {
        return f64::INFINITY;
    }
    // CVTSD2SL: round to nearest even; out of range gives i32::MIN.
    let k = {
        let r = (LOG2_E * x).round_ties_even();
        if (-2_147_483_648.0..2_147_483_648.0).contains(&r) {
            r as i32
        } else {
            i32::MIN
        }
    };
    let kf = f64::from(k);
    let mut r;
    if fma {
        r = (-kf).mul_add(LN2_UPPER, x);
        r = (-kf).mul_add(LN2_LOWER, r);
    } else {
        r = x - LN2_UPPER * kf;
        r -= LN2_LOWER * kf;
    }
    r *= 0.0625;
    let mut poly = TAYLOR[0];
    for c in &TAYLOR[1..] {
        poly = if fma {
            poly.mul_add(r, *c)
        } else {
            poly * r + c
        };
    }
    let mut y = r * poly;
    if fma {
        for _ in 0..3 {
            y *= y + 2.0;
        }
        y = y.mul_add(y + 2.0, 1.0);
    } else {
        for _ in 0..4 {
            y *= y + 2.0;
        }
        y += 1.0;
    }
    let pow2 = |biased: i32| f64::from_bits((biased as u64) << 52);
    let e = k.wrapping_add(0x3ff);
    if e <= 0 {
        if e < -52 {
            return 0.0;
        }
        return y * pow2(e + 0x3fe) * pow2(1);
    }
    if e >= 0x7ff {
        return f64::INFINITY;
    }
    y * pow2(e)
}

/// Largest argument of `exp` with a finite result.
const EXP_OVERFLOW: f64 = 709.782_712_893_384;
/// Smallest argument of `exp` with a nonzero result.
const EXP_UNDERFLOW: f64 = -745.133_219_101_941_1;
/// ln 2 split in a high part with trailing zero bits and the rest (FreeBSD).
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
const NEAR_ZERO: f64 = 1.0 / (1u64 << 28) as f64;
/// Remez coefficients of `r(e^r+1)/(e^r-1)` (FreeBSD's e_exp.c).
const REMEZ: [f64; 5] = [
    0.166_666_666_666_666_66,
    -2.777_777_777_701_559_3e-3,
    6.613_756_321_437_934e-5,
    -1.653_390_220_546_525_2e-6,
    4.138_136_797_057_238_5e-8,
];

/// Go's arm64 assembly `math.Exp`: FreeBSD's method with fused multiply-adds.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
pub(crate) fn exp_arm64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > EXP_OVERFLOW {
        return f64::INFINITY;
    }
    if x < EXP_UNDERFLOW {
        return 0.0;
    }
    if x.abs() < NEAR_ZERO {
        return 1.0 + x;
    }
    let half = if x < 0.0 { -0.5 } else { 0.5 };
    let k = LOG2_E.mul_add(x, half) as i64; // FCVTZS truncates
    let kf = k as f64;
    let hi = (-kf).mul_add(LN2_HI, x);
    let lo = kf * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let mut poly = REMEZ[4];
    for c in REMEZ[..4].iter().rev() {
        poly = poly.mul_add(t, *c);
    }
    let c = (-poly).mul_add(t, r);
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // Ldexp(y, k), inlined as the assembly does.
    let bits = y.to_bits();
    let mut exp = ((bits >> 52) as i64).wrapping_add(k);
    let mut m = 1.0;
    if exp < 1 {
        exp += 52;
        m = f64::from_bits(0x3cb0_0000_0000_0000); // 2^-52
    }
    f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | ((exp as u64) << 52)) * m
}

/// Go's portable `math.Exp` (exp.go), used where there is no assembly.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
pub(crate) fn exp_portable(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == f64::NEG_INFINITY || x < EXP_UNDERFLOW {
        return 0.0;
    }
    if x > EXP_OVERFLOW {
        return f64::INFINITY;
    }
    if -NEAR_ZERO < x && x < NEAR_ZERO {
        return 1.0 + x;
    }
    let k = if x < 0.0 {
        (LOG2_E * x - 0.5) as i64
    } else if x > 0.0 {
        (LOG2_E * x + 0.5) as i64
    } else {
        0
    };
    let hi = x - k as f64 * LN2_HI;
    let lo = k as f64 * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (REMEZ[0] + t * (REMEZ[1] + t * (REMEZ[2] + t * (REMEZ[3] + t * REMEZ[4]))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // Go's Ldexp for a normal y.
    let bits = y.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023 + k;
    if exp < -1075 {
        return 0.0;
    }
    if exp > 1023 {
        return f64::INFINITY;
    }
    let (exp, m) = if exp < -1022 {
        (exp + 53, 1.0 / (1u64 << 53) as f64)
    } else {
        (exp, 1.0)
    };
    m * f64::from_bits((bits & !(0x7ff << 52)) | (((exp + 1023) as u64) << 52))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_exp_variants_agree_with_std_to_a_few_ulps() {
        for i in 0..20_000 {
            let x = -(i as f64) * 1e-3 - 1e-7;
            let want = x.exp();
            for (name, got) in [
                ("amd64", exp_amd64(x, false)),
                ("amd64+fma", exp_amd64(x, true)),
                ("arm64", exp_arm64(x)),
                ("portable", exp_portable(x)),
            ] {
                let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
                assert!(ulps <= 4, "{name} exp({x}) = {got}, std {want}");
            }
        }
        for f in [
            exp_portable,
            exp_arm64,
            |x| exp_amd64(x, true),
            |x| exp_amd64(x, false),
        ] {
            assert_eq!(f(f64::NEG_INFINITY), 0.0);
            assert_eq!(f(-1e10), 0.0);
            assert_eq!(f(1e10), f64::INFINITY);
            assert!(f(f64::NAN).is_nan());
            assert_eq!(f(0.0), 1.0);
            let tiny = f(-740.0);
            assert!(tiny > 0.0 && tiny < 1e-300, "{tiny}");
        }
    }

    /// `math.Exp(x)` of Go 1.19 on amd64 with and without FMA (run with
    /// `GODEBUG=cpu.fma=off`) where both differ from a correctly rounded exp.
    #[test]
    fn amd64_exp_is_bit_exact() {
        let cases: [(u64, u64, u64); 8] = [
            (0xbfd62e570cc00eb1, 0x3fe6a0974f704655, 0x3fe6a0974f704654),
            (0xbff00d1d14ca4809, 0x3fd778121b3e191f, 0x3fd778121b3e191e),
            (0xbff03c6aeddec317, 0x3fd73315630f4735, 0x3fd73315630f4734),
            (0xbff054370eb42d11, 0x3fd710ad95d0d603, 0x3fd710ad95d0d602),
            (0xbff07beec4c91623, 0x3fd6d7b2ef514781, 0x3fd6d7b2ef514780),
            (0xbff0cdf9e1b1e97b, 0x3fd663bbec0b54ab, 0x3fd663bbec0b54aa),
            (0xc0640da79a9017f5, 0x31777a22bfeb1df3, 0x31777a22bfeb1df4),
            (0xc081b50ea7edc8e4, 0x0cd6fc116495877b, 0x0cd6fc116495877a),
        ];
        for (x, fma, plain) in cases {
            let x = f64::from_bits(x);
            assert_eq!(exp_amd64(x, true).to_bits(), fma, "fma exp({x})");
            assert_eq!(exp_amd64(x, false).to_bits(), plain, "exp({x})");
        }
    }
}
