"""English wording of the console's menu and values (issue 15): "Apps" beside "Accounts" and "Groups",
an account's type "Administrator" (singular, as "User")."""
import re


def test_the_menu_and_the_user_type_in_english(client, admin, factory):
    factory.account(email="hanako@acme.example.com", name="佐藤 花子", role="admin")
    client.set_cookie("lang", "en")
    page = client.get("/admin/accounts").get_data(as_text=True)
    menu = re.search(r'<nav class="admin-menu"[^>]*>(.*?)</nav>', page, re.S)
    tabs = re.findall(r">([^<>]+)</a>", menu.group(1) if menu else page)
    assert "Apps" in tabs and "App" not in tabs and "Accounts" in tabs and "Groups" in tabs
    assert ">Administrator<" in page and "Administrators" not in page
    assert "<h1>Apps</h1>" in client.get("/admin/apps").get_data(as_text=True)
