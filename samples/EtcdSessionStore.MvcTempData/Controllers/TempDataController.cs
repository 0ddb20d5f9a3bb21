using Microsoft.AspNetCore.Mvc;

namespace EtcdSessionStore.MvcTempData.Controllers;

/// <summary>TempData through each kind of result: a body (content, JSON, a view) and a redirect.</summary>
[Route("mvc")]
public sealed class TempDataController : Controller
{
    private const string Key = "message";

    [HttpPost("set")]
    public IActionResult Set(string value)
    {
        TempData[Key] = value;
        return Content("set " + value);
    }

    [HttpPost("set-json")]
    public IActionResult SetJson(string value)
    {
        TempData[Key] = value;
        return Json(new { set = value });
    }

    [HttpPost("set-view")]
    public IActionResult SetView(string value)
    {
        TempData[Key] = value;
        return View("Set", value);
    }

    /// <summary>Post/Redirect/Get: the message is shown once by the page the browser is sent to.</summary>
    [HttpPost("prg")]
    public IActionResult PostRedirectGet(string value)
    {
        TempData[Key] = value;
        return RedirectToAction(nameof(Read));
    }

    [HttpGet("read")]
    public IActionResult Read() => Content(TempData[Key] as string ?? "(none)");

    [HttpGet("keep")]
    public IActionResult Keep()
    {
        var message = TempData[Key] as string ?? "(none)";
        TempData.Keep(Key);
        return Content(message);
    }

    [HttpGet("peek")]
    public IActionResult Peek() => Content(TempData.Peek(Key) as string ?? "(none)");
}
