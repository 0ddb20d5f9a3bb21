using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EtcdSessionStore.MvcTempData.Pages;

/// <summary>Sets TempData through a <c>[TempData]</c> property or the dictionary, answering with the page or a redirect.</summary>
[IgnoreAntiforgeryToken] // posted by tests without a form
public sealed class SetMessageModel : PageModel
{
    [TempData]
    public string? Message { get; set; }

    public IActionResult OnPost(string value)
    {
        Message = value;
        return Page();
    }

    public IActionResult OnPostNote(string value)
    {
        TempData["note"] = value;
        return Page();
    }

    public IActionResult OnPostRedirect(string value)
    {
        Message = value;
        return RedirectToPage("/ShowMessage");
    }
}
