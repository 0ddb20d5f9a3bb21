using ScottPlot;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>Grouped bar chart of requests/s: one group per request kind, one bar per side (PNG, rendered headless).</summary>
internal static class HttpChart
{
    public static void Write(string file, Dictionary<(string Side, string Kind), LoadResult> results, (string Key, string Label)[] sides)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var kinds = new[] { ("read", "read-only request"), ("write", "write request") };
        var bars = new List<Bar>();
        for (var k = 0; k < kinds.Length; k++)
        {
            for (var s = 0; s < sides.Length; s++)
            {
                var value = results[(sides[s].Key, kinds[k].Item1)].PerSecond;
                bars.Add(new Bar
                {
                    Position = k * (sides.Length + 1) + s,
                    Value = value,
                    FillColor = palette.GetColor(s),
                    Label = value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                });
            }
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 12;
        for (var s = 0; s < sides.Length; s++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = sides[s].Label, FillColor = palette.GetColor(s) });
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            kinds.Select((kind, k) => new Tick(k * (sides.Length + 1) + (sides.Length - 1) / 2.0, kind.Item2, isMajor: true)).ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0, top: 0.15);
        plot.ShowLegend(Edge.Bottom);
        plot.YLabel("requests / s");
        plot.Title("Session middleware throughput (higher is better)");
        plot.SavePng(file, 1100, 550);
        Console.WriteLine($"Wrote {file}.");
    }
}
