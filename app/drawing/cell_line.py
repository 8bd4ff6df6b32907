"""One cell's line over the shown sequence, on the heatmap's x range (so it pans and zooms with it), with a
dashed line at the clicked step: the cell card's plot, on the page and in the export."""
from __future__ import annotations

from bokeh.models import ColumnDataSource, HoverTool, Range1d, Span
from bokeh.plotting import figure


def cell_line_figure(x_range, source: ColumnDataSource):
    """``source``: x (the heatmap's column), y (the cell's value), position and char (for the hover)."""
    fig = figure(height=150, sizing_mode="stretch_width", x_range=x_range or Range1d(-0.5, 0.5),
                 y_range=Range1d(-1, 1), tools="xpan,xwheel_zoom", toolbar_location=None, min_border_left=40)
    fig.line("x", "y", source=source, color="#3182bd", line_width=1.3)
    fig.add_tools(HoverTool(tooltips=[("position", "@position{0,0}"), ("char", "@char"), ("value", "@y{0.000}")],
                            mode="vline"))
    fig.add_layout(Span(location=0, dimension="height", line_color="#444", line_dash="dashed", visible=False,
                        name="clicked"))
    fig.name = "cell-card-line"
    return fig
