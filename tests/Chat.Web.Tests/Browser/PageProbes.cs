using Microsoft.Playwright;

namespace Chat.Web.Tests.Browser;

/// <summary>One text's colours as the browser computed them, and their WCAG 2.x contrast ratio.</summary>
/// <remarks>Settable properties, not a positional record: Playwright fills results through a parameterless constructor.</remarks>
public sealed record ContrastReading
{
    public string Label { get; init; } = "";

    public string Selector { get; init; } = "";

    public string? Error { get; init; }

    public string? Foreground { get; init; }

    public string? Background { get; init; }

    public double FontSizePx { get; init; }

    public int FontWeight { get; init; }

    public bool Large { get; init; }

    public double Opacity { get; init; }

    public double Ratio { get; init; }

    /// <summary>WCAG 1.4.3 (AA): 4.5:1 for normal text, 3:1 for large text (24 px, or 18.66 px bold).</summary>
    public double Required => Large ? 3 : 4.5;

    public bool Passes => Error is null && Opacity >= 1 && Ratio >= Required;

    public override string ToString() => Error is not null
        ? $"{Label,-44} {Selector}: {Error}"
        : $"{Label,-44} {Ratio,5:0.00}:1 (needs {Required}:1) {Foreground} on {Background}, {FontSizePx:0.#} px/{FontWeight}{(Opacity < 1 ? $", opacity {Opacity}" : "")}";
}

/// <summary>The element that has focus and how its focus indicator computes.</summary>
public sealed record FocusReading
{
    public string Element { get; init; } = "";

    public string Outline { get; init; } = "";

    public string BoxShadow { get; init; } = "";

    public bool FocusVisible { get; init; }

    public bool Indicated { get; init; }

    public double RingRatio { get; init; }

    public override string ToString() =>
        $"{Element,-16} outline {Outline}; box-shadow {BoxShadow}; :focus-visible {FocusVisible}; ring {RingRatio:0.00}:1";
}

/// <summary>The longest animation and transition any element or pseudo-element computes, and where.</summary>
public sealed record MotionReading
{
    public double AnimationSeconds { get; init; }

    public string AnimationAt { get; init; } = "";

    public double TransitionSeconds { get; init; }

    public string TransitionAt { get; init; } = "";

    public int RunningAnimations { get; init; }

    public override string ToString() =>
        $"longest animation {AnimationSeconds}s ({AnimationAt}), longest transition {TransitionSeconds}s ({TransitionAt}), {RunningAnimations} running";
}

/// <summary>Measurements taken inside the page from getComputedStyle, so they see the CSS as the browser applied it.</summary>
public static class PageProbes
{
    // Colours, compositing and WCAG 2.x relative luminance, shared by the probes below.
    private const string Colour = """
        const describe = (el) => el.id ? `#${el.id}` : el.tagName.toLowerCase() + (el.classList.length ? `.${[...el.classList].join('.')}` : '');
        const channels = (css) => {
          const m = /^rgba?\(([^)]+)\)$/.exec(css.trim());
          if (!m) throw new Error(`unsupported colour ${css}`);
          const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
          return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
        };
        const over = (top, base) => ({
          r: top.r * top.a + base.r * (1 - top.a),
          g: top.g * top.a + base.g * (1 - top.a),
          b: top.b * top.a + base.b * (1 - top.a),
          a: 1,
        });
        // The colour behind an element: its own background and its ancestors', composited until one is opaque.
        const backgroundOf = (el) => {
          const layers = [];
          for (let node = el; node; node = node.parentElement) {
            const s = getComputedStyle(node);
            if (s.backgroundImage !== 'none') throw new Error(`background image on ${describe(node)}`);
            const c = channels(s.backgroundColor);
            if (c.a > 0) layers.push(c);
            if (c.a >= 1) break;
          }
          let base = { r: 255, g: 255, b: 255, a: 1 };
          for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
          return base;
        };
        const luminance = ({ r, g, b }) => {
          const lin = (v) => (v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
          return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
        };
        const ratio = (x, y) => {
          const [hi, lo] = [luminance(x), luminance(y)].sort((a, b) => b - a);
          return (hi + 0.05) / (lo + 0.05);
        };
        const hex = ({ r, g, b }) => '#' + [r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
        """;

    private const string Contrast = "(probes) => {\n" + Colour + """
          const opacityOf = (el) => {
            let o = 1;
            for (let node = el; node; node = node.parentElement) o *= Number(getComputedStyle(node).opacity);
            return o;
          };
          return probes.map(({ label, selector, pseudo }) => {
            const el = document.querySelector(selector);
            const reading = { label, selector, error: null, foreground: null, background: null, fontSizePx: 0, fontWeight: 0, large: false, opacity: 1, ratio: 0 };
            if (!el) return { ...reading, error: 'not found' };
            if (!el.checkVisibility()) return { ...reading, error: 'not visible' };
            const s = getComputedStyle(el, pseudo || null);
            const bg = backgroundOf(el);
            const fg = over(channels(s.color), bg);
            const size = parseFloat(s.fontSize);
            const weight = Number(s.fontWeight);
            return {
              ...reading, foreground: hex(fg), background: hex(bg), fontSizePx: size, fontWeight: weight,
              large: size >= 24 || (weight >= 700 && size >= 18.66), opacity: opacityOf(el), ratio: ratio(fg, bg),
            };
          });
        }
        """;

    private const string Focus = "() => {\n" + Colour + """
          const el = document.activeElement;
          if (!el || el === document.body || el === document.documentElement) return null;
          const s = getComputedStyle(el);
          const ring = channels(s.outlineColor);
          const outlined = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && ring.a > 0;
          const shadowed = s.boxShadow !== 'none' && /(^|\s)[1-9][\d.]*px/.test(s.boxShadow) && !s.boxShadow.includes('rgba(0, 0, 0, 0)');
          // The outline is drawn around the element, over what lies behind it.
          const behind = backgroundOf(el.parentElement ?? el);
          return {
            element: describe(el), outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, boxShadow: s.boxShadow,
            focusVisible: el.matches(':focus-visible'), indicated: outlined || shadowed,
            ringRatio: outlined ? ratio(over(ring, behind), behind) : 0,
          };
        }
        """;

    private const string Motion = """
        () => {
          const describe = (el, pseudo) => (el.id ? `#${el.id}` : el.tagName.toLowerCase() + (el.classList.length ? `.${[...el.classList].join('.')}` : '')) + (pseudo ?? '');
          const seconds = (list) => Math.max(...list.split(',').map((v) => {
            v = v.trim();
            if (v === 'auto') return 0;
            return v.endsWith('ms') ? parseFloat(v) / 1000 : parseFloat(v);
          }));
          const result = { animationSeconds: 0, animationAt: '-', transitionSeconds: 0, transitionAt: '-', runningAnimations: document.getAnimations().length };
          for (const el of document.querySelectorAll('*')) {
            for (const pseudo of [null, '::before', '::after']) {
              const s = getComputedStyle(el, pseudo);
              const animation = seconds(s.animationDuration);
              const transition = seconds(s.transitionDuration);
              if (animation > result.animationSeconds) Object.assign(result, { animationSeconds: animation, animationAt: describe(el, pseudo) });
              if (transition > result.transitionSeconds) Object.assign(result, { transitionSeconds: transition, transitionAt: describe(el, pseudo) });
            }
          }
          return result;
        }
        """;

    public static async Task<IReadOnlyList<ContrastReading>> ContrastAsync(IPage page, params (string Label, string Selector, string? Pseudo)[] probes) =>
        await page.EvaluateAsync<ContrastReading[]>(Contrast, probes.Select(p => new { label = p.Label, selector = p.Selector, pseudo = p.Pseudo }).ToArray());

    /// <summary>The focused element's indicator, or null when focus is on the page itself (between the last and first stop).</summary>
    public static Task<FocusReading?> FocusAsync(IPage page) => page.EvaluateAsync<FocusReading?>(Focus);

    public static Task<MotionReading> MotionAsync(IPage page) => page.EvaluateAsync<MotionReading>(Motion);
}
