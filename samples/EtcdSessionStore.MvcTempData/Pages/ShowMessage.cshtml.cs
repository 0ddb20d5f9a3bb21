using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EtcdSessionStore.MvcTempData.Pages;

/// <summary>Shows the TempData the other page set, once.</summary>
public sealed class ShowMessageModel : PageModel
{
    [TempData]
    public string? Message { get; set; }

    public void OnGet()
    {
    }
}
