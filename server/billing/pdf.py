"""An invoice as a PDF document (fpdf2: pure Python, no system libraries)."""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF

from shared.api.billing import InvoiceDetail


def _latin(text: str) -> str:
    """The PDF core fonts (Helvetica) cover Latin-1 only (PDF 1.7, annex D); other
    characters would stop the document, so they are shown as "?"."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


def invoice_pdf(invoice: InvoiceDetail, *, org_name: str, seller: str = "Upmetr") -> bytes:
    pdf = FPDF()
    pdf.set_title(f"Invoice {invoice.number or 'draft'}")
    pdf.set_creator(seller)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=18)
    number = f"Invoice {invoice.number}" if invoice.number else "Draft invoice"
    pdf.cell(0, 12, _latin(number), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for label, value in (
        ("Billed to", org_name),
        ("From", seller),
        ("Status", invoice.status),
        ("Issued", _day(invoice.finalized_at or invoice.created_at)),
        ("Period", f"{_day(invoice.period_start)} to {_day(invoice.period_end)}"),
    ):
        pdf.cell(40, 7, label)
        pdf.cell(0, 7, _latin(str(value)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(120, 8, "Description", border="B")
    pdf.cell(20, 8, "Qty", border="B", align="R")
    pdf.cell(0, 8, f"Amount ({invoice.currency})", border="B", align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font("Helvetica", size=11)
    for line in invoice.lines:
        pdf.cell(120, 7, _latin(line.description[:70]))
        pdf.cell(20, 7, str(line.quantity), align="R")
        pdf.cell(0, 7, f"{line.amount:.2f}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for label, amount in (
        ("Subtotal", invoice.subtotal),
        ("Tax", invoice.tax),
        ("Total", invoice.total),
        ("Paid", invoice.amount_paid),
    ):
        pdf.cell(140, 7, label, align="R")
        pdf.cell(0, 7, f"{amount:.2f}", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
