namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>
/// Hyperparameters of the deep multi-task model (Mehrdad &amp; Janani, arXiv 2402.03398, as read in docs/method.md).
/// Data are normalised to a maximum of 1 inside, so the step bounds are in those units.
/// </summary>
public sealed record MtlOptions
{
    /// <summary>Hidden widths of the row branch's MLP (P → ... → N).</summary>
    public int[] RowHidden { get; init; } = [100, 250];
    /// <summary>Hidden widths of the column branch's MLP (P → ... → L).</summary>
    public int[] ColumnHidden { get; init; } = [25, 50];
    /// <summary>Weight of the auxiliary NMF task ‖Y − EA‖².</summary>
    public double Alpha { get; init; } = 0.1;
    /// <summary>Weight of the latent penalty ‖E‖² + ‖A‖² (each per element).</summary>
    public double Beta { get; init; } = 1e-4;
    /// <summary>Weight of the squared network weights (per element).</summary>
    public double Lambda { get; init; } = 1e-4;
    /// <remarks>
    /// 100: on the scaled pixels of Samson / Jasper Ridge the held-out loss still falls slowly at 300 epochs, but the
    /// default run's aRMSE at 100 vs 300 epochs was 11.48 vs 11.44 (Samson) and 8.50 vs 8.41 (Jasper Ridge), under 1%
    /// for two to three times the fit time; 100 keeps the whole default run of a 100 x 100 x 198 scene under 10 s on
    /// 2 cores (docs/endmembers.md).
    /// </remarks>
    public int MaxEpochs { get; init; } = 100;
    /// <summary>Stop when the loss improved by less than this fraction over <see cref="Patience"/> epochs.</summary>
    public double Tolerance { get; init; } = 1e-4;
    /// <summary>Epochs without improvement (of the held-out error, or of the training loss by <see cref="Tolerance"/>) before training stops.</summary>
    public int Patience { get; init; } = 20;
    /// <summary>Seed of the random initial weights of the MLPs.</summary>
    public long Seed { get; init; } = 42;
    /// <summary>Use the row branch (Y ≈ E W_r + g_r(E)); it acts only through E, so it is trained only when <see cref="EndmemberSteps"/> lets E move.</summary>
    public bool RowBranch { get; init; } = true;
    /// <summary>Use the column branch (the learned mixing model W_c a + g_c(a)); false makes the mixing model E a.</summary>
    public bool ColumnBranch { get; init; } = true;
    /// <summary>False drops both MLPs: the model reduces to a regularised NMF with free linear decoders.</summary>
    public bool Nonlinear { get; init; } = true;
    /// <summary>
    /// Endmember steps; zero (the default) keeps E at its initialisation. Measured on USGS scenes at 30 dB: with E
    /// free (bound 1e-3) SAD drifted 0.0105 → 0.0395 rad on PPNM, and with bound 2e-5 0.0063 → 0.0105 on Fan, while
    /// the abundance RMSE stayed within ±0.0002 of the fixed-E fit. With E fixed the row branch cannot change any
    /// output, so it is not computed; a positive bound trains it.
    /// </summary>
    public StepBounds EndmemberSteps { get; init; } = new(0f, 0f, 0f);

    /// <summary>
    /// Keep the fitted network only when it reconstructs the held-out pixels significantly better than the best
    /// linear re-mix of the endmembers does (<see cref="NonlinearityTest"/>); otherwise the deep step returns its
    /// linear start. False keeps whatever the fit chose (the paper's procedure).
    /// </summary>
    public bool RequireNonlinearGain { get; init; } = true;

    /// <summary>
    /// Apply the kept network with the pixel test (<see cref="MtlModel.NetworkGain"/>): a pixel takes the network's
    /// solution only where it removes at least half of the squared residual its linear start leaves. False gives
    /// every pixel the network's solution (the paper's procedure). Used where the model is applied, not in the fit.
    /// </summary>
    public bool PixelTest { get; init; } = true;

    /// <summary>
    /// With <see cref="RequireNonlinearGain"/>: the epoch from which the fit stops as soon as its best held-out error is
    /// not <see cref="NonlinearityTest.MinGain"/> below the linear re-mix's, so that a scene the network cannot gain on
    /// does not pay for a whole fit it would throw away (0: never). A check at epoch 10 dropped networks that help on
    /// `bench deep`'s Fan and GBM scenes; at 20 and 30 every figure was unchanged (docs/methods.md).
    /// </summary>
    public int GainCheckEpoch { get; init; } = 20;

    /// <summary>Fraction of the fit pixels held out to choose when to stop (0: stop on the training loss alone).</summary>
    public double ValidationFraction { get; init; } = 0.1;
    /// <summary>Epochs between two evaluations on the held-out pixels.</summary>
    public int ValidationEvery { get; init; } = 10;

    /// <summary>Whether the row branch can influence anything: only through the endmembers.</summary>
    public bool RowBranchActive => RowBranch && EndmemberSteps.Max > 0;
    /// <summary>iRprop+ step sizes (initial, minimum, maximum; normalised units) for the abundances.</summary>
    public StepBounds AbundanceSteps { get; init; } = new(1e-3f, 1e-7f, 5e-3f);
    /// <summary>iRprop+ step sizes (initial, minimum, maximum; normalised units) for the linear decoders W_r and W_c.</summary>
    public StepBounds LinearSteps { get; init; } = new(1e-3f, 1e-7f, 5e-3f);
    /// <summary>iRprop+ step sizes (initial, minimum, maximum) for the MLPs' weights and biases.</summary>
    public StepBounds NetworkSteps { get; init; } = new(1e-3f, 1e-7f, 5e-3f);
    /// <summary>
    /// Projected-gradient iterations per pixel when the fitted model is applied to new pixels. Measured (fit on 2,000
    /// of 10,000 pixels, USGS P = 4, 30 dB): 5 iterations gave most of the gain on Fan and MLM and ~60,000 pixels/s per
    /// thread; more iterations made PPNM worse and cost linearly.
    /// </summary>
    public int ApplyIterations { get; init; } = 5;

    /// <summary>Checks that the options can be fitted.</summary>
    /// <exception cref="ArgumentException">A negative weight, fewer than one epoch, a hidden width below 1, or nothing to fit (both branches off and α = 0).</exception>
    public void Validate()
    {
        if (Alpha < 0 || Beta < 0 || Lambda < 0) throw new ArgumentException("alpha, beta and lambda must not be negative");
        if (GainCheckEpoch < 0) throw new ArgumentException($"the gain check's epoch must not be negative, got {GainCheckEpoch}");
        if (MaxEpochs < 1) throw new ArgumentException($"max epochs must be at least 1, got {MaxEpochs}");
        if (!RowBranch && !ColumnBranch && Alpha == 0) throw new ArgumentException("with both branches off and alpha = 0 there is nothing to fit");
        if (RowHidden.Any(h => h < 1) || ColumnHidden.Any(h => h < 1)) throw new ArgumentException("hidden layer widths must be positive");
    }
}
