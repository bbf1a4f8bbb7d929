using System.Numerics;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>Step-size bounds of one group of parameters (e.g. the endmembers, the networks).</summary>
public readonly record struct StepBounds(float Initial, float Min, float Max);

/// <summary>
/// iRprop+ (Igel &amp; Hüsken 2000): one adaptive step per parameter, grown by η+ while the gradient keeps its
/// sign and shrunk by η− when it flips; on a flip the previous update is reverted if the loss rose
/// ("weight backtracking"), and the gradient is then treated as zero for one epoch. Full-batch only: the sign
/// logic needs the true gradient. Parameters form contiguous groups, each with its own step bounds.
/// </summary>
internal sealed class Irprop
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
    /// <remarks>
    /// Vectorised across parameters: each lane makes the scalar rule's choice with masks instead of branches (the
    /// gradient signs are random, so branches mispredicted half the time) and the same float operations, so the
    /// result is the scalar rule's, bit for bit, whatever the vector width; the tail runs the scalar rule itself.
    /// </remarks>
    public void Update(Span<float> theta, ReadOnlySpan<float> grad, double loss)
    {
        var lossRose = loss > _prevLoss;
        var w = Vector<float>.Count;
        foreach (var (start, length, b) in _groups)
        {
            var i = start;
            var end = start + length;
            if (Vector.IsHardwareAccelerated)
            {
                var max = new Vector<float>(b.Max);
                var min = new Vector<float>(b.Min);
                var plus = new Vector<float>(EtaPlus);
                var minus = new Vector<float>(EtaMinus);
                var one = Vector<float>.One;
                var zero = Vector<float>.Zero;
                for (; i + w <= end; i += w)
                {
                    var g = new Vector<float>(grad.Slice(i, w));
                    var pg = new Vector<float>(_prevGrad, i);
                    var st = new Vector<float>(_step, i);
                    var th = new Vector<float>(theta.Slice(i, w));
                    var pu = new Vector<float>(_prevUpdate, i);
                    var s = g * pg;
                    var grow = Vector.GreaterThan(s, zero);
                    var flip = Vector.LessThan(s, zero);
                    st = Vector.ConditionalSelect(grow, Vector.Min(st * plus, max), Vector.ConditionalSelect(flip, Vector.Max(st * minus, min), st));
                    // −sign(g) x step: −step, +step or (g = 0) +0.
                    var sign = Vector.ConditionalSelect(Vector.GreaterThan(g, zero), -one, Vector.ConditionalSelect(Vector.LessThan(g, zero), one, zero));
                    var u = sign * st;
                    var back = lossRose ? th - pu : th;
                    Vector.ConditionalSelect(flip, back, th + u).CopyTo(theta.Slice(i, w));
                    Vector.ConditionalSelect(flip, zero, u).CopyTo(_prevUpdate, i);
                    Vector.ConditionalSelect(flip, zero, g).CopyTo(_prevGrad, i);
                    st.CopyTo(_step, i);
                }
            }
            for (; i < end; i++)
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
