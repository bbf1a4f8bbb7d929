namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>Step-size bounds of one group of parameters (e.g. the endmembers, the networks).</summary>
public readonly record struct StepBounds(float Initial, float Min, float Max);

/// <summary>
/// iRprop+ (Igel &amp; Hüsken 2000): one adaptive step per parameter, grown by η+ while the gradient keeps its
/// sign and shrunk by η− when it flips; on a flip the previous update is reverted if the loss rose
/// ("weight backtracking"), and the gradient is then treated as zero for one epoch. Full-batch only: the sign
/// logic needs the true gradient. Parameters form contiguous groups, each with its own step bounds.
/// </summary>
public sealed class Irprop
{
    public const float EtaPlus = 1.2f, EtaMinus = 0.5f;
    private readonly float[] _step, _prevGrad, _prevUpdate;
    private readonly (int Start, int Length, StepBounds Bounds)[] _groups;
    private double _prevLoss = double.PositiveInfinity;

    public Irprop(int count, IReadOnlyList<(int Start, int Length, StepBounds Bounds)> groups)
    {
        _step = new float[count];
        _prevGrad = new float[count];
        _prevUpdate = new float[count];
        _groups = groups.ToArray();
        foreach (var (start, length, b) in _groups) _step.AsSpan(start, length).Fill(b.Initial);
    }

    /// <summary>Current step of parameter <paramref name="i"/> (for tests and diagnostics).</summary>
    public float Step(int i) => _step[i];

    /// <summary>Updates <paramref name="theta"/> in place from the full-batch gradient and the loss at theta.</summary>
    public void Update(Span<float> theta, ReadOnlySpan<float> grad, double loss)
    {
        var lossRose = loss > _prevLoss;
        foreach (var (start, length, b) in _groups)
        {
            for (var i = start; i < start + length; i++)
            {
                var g = grad[i];
                var s = g * _prevGrad[i];
                if (s > 0)
                {
                    _step[i] = Math.Min(_step[i] * EtaPlus, b.Max);
                    var u = -MathF.Sign(g) * _step[i];
                    theta[i] += u;
                    _prevUpdate[i] = u;
                    _prevGrad[i] = g;
                }
                else if (s < 0)
                {
                    _step[i] = Math.Max(_step[i] * EtaMinus, b.Min);
                    if (lossRose) theta[i] -= _prevUpdate[i];
                    _prevUpdate[i] = 0;
                    _prevGrad[i] = 0;
                }
                else
                {
                    var u = -MathF.Sign(g) * _step[i];
                    theta[i] += u;
                    _prevUpdate[i] = u;
                    _prevGrad[i] = g;
                }
            }
        }
        _prevLoss = loss;
    }
}
